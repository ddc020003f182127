"""Tokens and price feeds: WETH9 as the wrapped native coin, DevTokens, PriceFeeds, balances.

Example::

    tokens = deploy_tokens(sender, ETHEREUM)      # symbol -> Contract, balances minted
    feeds = deploy_feeds(sender, ETHEREUM)        # "feed:ETH/USD" -> Contract
"""

from __future__ import annotations

from typing import Final

from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.spec import FEED_DECIMALS, USER_ACCOUNTS, ChainSpec, TokenSpec
from defiscope.devnet.tx import Sender

FEED_PREFIX: Final = "feed:"


def feed_name(pair: str) -> str:
    """Registry name of a feed: ``feed:ETH/USD``."""
    return FEED_PREFIX + pair


def fund_owner(sender: Sender, spec: ChainSpec) -> None:
    """Give account 0 the native coin that wrapping and pool seeding need (anvil_setBalance)."""
    sender.rpc("anvil_setBalance", [sender.owner, hex(spec.owner_native * 10**18)])


def deploy_token(sender: Sender, token: TokenSpec) -> Contract:
    if token.wrapped_native:
        # The real WETH9 from Uniswap's package; on BNB Chain it stands for WBNB (its name says WETH).
        weth = sender.deploy(npm_artifact("WETH9"))
        sender.send(weth.functions.deposit(), value=token.units(token.supply))
        for index in USER_ACCOUNTS:
            sender.send(weth.functions.deposit(), value=token.units(token.per_account), sender=sender.accounts[index])
        return weth
    contract = sender.deploy(contract_artifact("DevToken"), token.name, token.symbol, token.decimals)
    sender.send(contract.functions.mint(sender.owner, token.units(token.supply)))
    for index in USER_ACCOUNTS:
        sender.send(contract.functions.mint(sender.accounts[index], token.units(token.per_account)))
    return contract


def deploy_tokens(sender: Sender, spec: ChainSpec) -> dict[str, Contract]:
    return {token.symbol: deploy_token(sender, token) for token in spec.tokens}


def deploy_feeds(sender: Sender, spec: ChainSpec) -> dict[str, Contract]:
    artifact = contract_artifact("PriceFeed")
    return {
        feed_name(feed.pair): sender.deploy(artifact, FEED_DECIMALS, feed.description, feed.answer())
        for feed in spec.feeds
    }


def refresh_feeds(sender: Sender, feeds: dict[str, Contract]) -> None:
    """Start a new round with the same answer on every feed, stamped with the current block time.

    A world reloaded from the cache was deployed hours or days ago; without this its feeds would look
    stale to any heartbeat check.
    """
    for feed in feeds.values():
        answer = feed.functions.latestAnswer().call()
        sender.send(feed.functions.updateAnswer(answer))
