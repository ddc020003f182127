"""Tokens and price feeds: WETH9 as the wrapped native coin, ERC-20s of each `TokenContract` kind, PriceFeeds,
balances.

Example::

    tokens = deploy_tokens(sender, ETHEREUM)      # symbol -> Contract, balances handed out
    feeds = deploy_feeds(sender, ETHEREUM)        # "feed:ETH/USD" -> Contract

Every token's total supply is minted once to account 0, which hands ``per_account`` to accounts 1..9 and, for
the graded protocols' tokens, the non-circulating holdings to their seeded holders (`devnet.supplies`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.spec import FEED_DECIMALS, USER_ACCOUNTS, ChainSpec, TokenContract, TokenSpec
from defiscope.devnet.supplies import holder_address, supply_of
from defiscope.devnet.tx import Sender

FEED_PREFIX: Final = "feed:"


def feed_name(pair: str) -> str:
    """Registry name of a feed: ``feed:ETH/USD``."""
    return FEED_PREFIX + pair


def fund_owner(sender: Sender, spec: ChainSpec) -> None:
    """Give account 0 the native coin that wrapping and pool seeding need (anvil_setBalance)."""
    sender.rpc("anvil_setBalance", [sender.owner, hex(spec.owner_native * 10**18)])


def _dev_token(sender: Sender, token: TokenSpec) -> Contract:
    contract = sender.deploy(contract_artifact("DevToken"), token.name, token.symbol, token.decimals)
    sender.send(contract.functions.mint(sender.owner, token.units(token.supply)))
    return contract


def _votes_token(sender: Sender, token: TokenSpec) -> Contract:
    """ERC20Votes (the Compound and Uniswap governors' token): the constructor mints the supply to the deployer."""
    return sender.deploy(contract_artifact("GovernanceToken"), token.name, token.symbol, token.units(token.supply))


def _ds_token(sender: Sender, token: TokenSpec) -> Contract:
    contract = sender.deploy(contract_artifact("DSToken"), token.symbol.encode().ljust(32, b"\0"))
    sender.send(contract.functions.mint(sender.owner, token.units(token.supply)))
    return contract


def _aave_token(sender: Sender, token: TokenSpec) -> Contract:
    # Imported here: aave_governance imports aave, which imports this module.
    from defiscope.devnet.aave_governance import deploy_aave_token

    contract = deploy_aave_token(sender)
    minted = contract.functions.totalSupply().call()
    if minted != token.units(token.supply):
        raise DevnetError(f"AaveTokenV1 mints {minted}, the spec says {token.supply} AAVE")
    return contract


_MINTERS: Final[Mapping[TokenContract, Callable[[Sender, TokenSpec], Contract]]] = {
    "DevToken": _dev_token,
    "GovernanceToken": _votes_token,
    "AaveToken": _aave_token,
    "DSToken": _ds_token,
}


def deploy_token(sender: Sender, token: TokenSpec, chain_id: int) -> Contract:
    if token.wrapped_native:
        # The real WETH9 from Uniswap's package; on BNB Chain it stands for WBNB (its name says WETH).
        weth = sender.deploy(npm_artifact("WETH9"))
        sender.send(weth.functions.deposit(), value=token.units(token.supply))
        for index in USER_ACCOUNTS:
            sender.send(weth.functions.deposit(), value=token.units(token.per_account), sender=sender.accounts[index])
        return weth
    contract = _MINTERS[token.contract](sender, token)
    for index in USER_ACCOUNTS:
        sender.send(contract.functions.transfer(sender.accounts[index], token.units(token.per_account)))
    supply = supply_of(chain_id, token.symbol)
    for role, whole in supply.holdings if supply else ():
        sender.send(contract.functions.transfer(holder_address(token.symbol, role), token.units(whole)))
    return contract


def deploy_tokens(sender: Sender, spec: ChainSpec) -> dict[str, Contract]:
    return {token.symbol: deploy_token(sender, token, spec.chain_id) for token in spec.tokens}


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
