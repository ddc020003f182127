"""How each token's balances are kept, as data: what is read per holder, what once per block (the index), which
events name a holder whose balance moved, and the contract surface that reading declares.

    BalanceModel.plain(usdc)                      # balanceOf; Transfer
    BalanceModel.weth(weth)                       # balanceOf; Transfer, Deposit, Withdrawal
    BalanceModel.lido_shares(steth)               # sharesOf x getTotalPooledEther / getTotalShares
    BalanceModel.aave_scaled(a_weth, pool, weth)  # scaledBalanceOf rayMul getReserveNormalizedIncome(weth)
    models = await balance_models(deployment, reader)   # every such token of the registry, by address

`holdings.HolderBalances` follows (holder, token) pairs with them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from defiscope.chain.abi import checksum
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import AaveMarket
from defiscope.protocols.holdings_math import aave_balance, aave_balance_floor, lido_balance, plain_balance
from defiscope.protocols.pool_events import topic
from defiscope.protocols.surface import ContractUse

BALANCE_OF: Final = "balanceOf(address)(uint256)"
SHARES_OF: Final = "sharesOf(address)(uint256)"
TOTAL_POOLED_ETHER: Final = "getTotalPooledEther()(uint256)"
TOTAL_SHARES: Final = "getTotalShares()(uint256)"
SCALED_BALANCE_OF: Final = "scaledBalanceOf(address)(uint256)"
NORMALIZED_INCOME: Final = "getReserveNormalizedIncome(address)(uint256)"
TRANSFER_EVENT: Final = "Transfer(address,address,uint256)"
#: WETH9 moves balances with these besides Transfer (wrapping credits, unwrapping debits the caller).
WETH_EVENTS: Final = (TRANSFER_EVENT, "Deposit(address,uint256)", "Withdrawal(address,uint256)")
#: stETH mints fee shares with TransferShares alone and burns withdrawn shares with SharesBurnt alone.
STETH_EVENTS: Final = (
    TRANSFER_EVENT,
    "TransferShares(address,address,uint256)",
    "SharesBurnt(address,uint256,uint256,uint256)",
)
#: aTokens: every supply, withdrawal, treasury accrual and transfer also emits a Transfer; listed for clarity.
A_TOKEN_EVENTS: Final = (
    TRANSFER_EVENT,
    "Mint(address,address,uint256,uint256,uint256)",
    "Burn(address,address,uint256,uint256,uint256)",
    "BalanceTransfer(address,address,uint256,uint256)",
)
TRANSFER: Final = topic(TRANSFER_EVENT)
LIDO_STETH: Final = "LidoStETH"
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class BalanceModel:
    """How one token's balances are kept: what is read per holder, what once per block, and how they combine."""

    kind: str  # "plain", "weth", "lido_shares", "aave_scaled"
    token: str
    interface: str  # the token's real ABI (tests/fixtures/abi), for the surface
    holder_read: str  # the per-holder read, called as ``token.<holder_read>(holder)``
    events: tuple[str, ...]  # events whose indexed addresses name holders whose raw amount changed
    index: tuple[Call, ...]  # read once per block while anyone holds the token; () for a plain token
    combine: Callable[[int, tuple[int, ...]], int]
    topics: frozenset[str]  # topic0s of `events`

    @property
    def rebasing(self) -> bool:
        return bool(self.index)

    @classmethod
    def plain(cls, token: str) -> BalanceModel:
        """``balanceOf`` kept as is (ERC-20s; cTokens too: a cToken's balance is in cToken units)."""
        return cls._of("plain", token, "common/ERC20", BALANCE_OF, (TRANSFER_EVENT,), (), plain_balance)

    @classmethod
    def weth(cls, token: str) -> BalanceModel:
        """WETH9: plain, and its Deposit/Withdrawal events also name holders."""
        return cls._of("weth", token, "common/WETH9", BALANCE_OF, WETH_EVENTS, (), plain_balance)

    @classmethod
    def lido_shares(cls, steth: str) -> BalanceModel:
        """stETH: ``sharesOf`` per holder; ``getTotalPooledEther()`` and ``getTotalShares()`` per block."""
        index = (Call.of(steth, TOTAL_POOLED_ETHER), Call.of(steth, TOTAL_SHARES))
        return cls._of("lido_shares", steth, "lido/StETH", SHARES_OF, STETH_EVENTS, index, lido_balance)

    @classmethod
    def aave_scaled(cls, a_token: str, pool: str, underlying: str, *, floor: bool = False) -> BalanceModel:
        """An Aave V3 aToken: ``scaledBalanceOf`` per holder; the reserve's normalized income per block.
        Up to v3.4 (and @aave/core-v3, the devnet's) the balance is rayMul, half up; v3.5's aTokens round down
        (``floor``)."""
        index = (Call.of(pool, NORMALIZED_INCOME, underlying),)
        combine = aave_balance_floor if floor else aave_balance
        return cls._of("aave_scaled", a_token, "aave/IAToken", SCALED_BALANCE_OF, A_TOKEN_EVENTS, index, combine)

    @classmethod
    def _of(
        cls,
        kind: str,
        token: str,
        interface: str,
        holder_read: str,
        events: tuple[str, ...],
        index: tuple[Call, ...],
        combine: Callable[[int, tuple[int, ...]], int],
    ) -> BalanceModel:
        topics = frozenset(topic(e) for e in events)
        return cls(kind, checksum(token), interface, holder_read, events, index, combine, topics)


def holdings_surface(models: Iterable[BalanceModel]) -> tuple[ContractUse, ...]:
    """What following these models reads, one use per kind (the tokens are found at run time): the per-holder
    read, ``balanceOf`` (reconcile), the index and the events."""
    uses: dict[str, ContractUse] = {}
    for model in (*models, BalanceModel.plain(ZERO_ADDRESS)):  # any other token is plain
        if model.kind in uses:
            continue
        own_index = tuple(_signature(c) for c in model.index if c.target == model.token)
        calls = tuple(dict.fromkeys((model.holder_read, BALANCE_OF, *own_index)))
        uses[model.kind] = ContractUse(f"held token ({model.kind})", model.interface, calls, model.events)
        if model.kind == "aave_scaled":  # the index is the reserve's, read from its Pool
            uses["aave_pool"] = ContractUse("Aave V3 Pool (normalized income)", "aave/IPool", (NORMALIZED_INCOME,))
    return tuple(uses.values())


def _signature(call: Call) -> str:
    return f"{call.function.signature}({','.join(call.function.outputs)})"


def registry_models(deployment: Deployment) -> dict[str, BalanceModel]:
    """The models the registry alone gives: WETH and Lido's stETH."""
    models: dict[str, BalanceModel] = {}
    weth = deployment.tokens.get("WETH")
    if weth is not None:
        models[weth.address.lower()] = BalanceModel.weth(weth.address)
    steth = deployment.contracts.get(LIDO_STETH)
    if steth is not None:
        models[steth.lower()] = BalanceModel.lido_shares(steth)
    return models


async def balance_models(deployment: Deployment, reader: Reader) -> dict[str, BalanceModel]:
    """Every registry token that is not plain: `registry_models` and the aTokens of every Aave V3 market (read
    once: the Pools' reserve lists and each reserve's aToken). Any other token is plain (`HolderBalances.model`)."""
    models = registry_models(deployment)
    markets = AaveMarket.all_of(deployment)
    for market, reserves in zip(markets, await asyncio.gather(*(m.reserves(reader) for m in markets)), strict=True):
        for reserve in reserves:
            a_token = reserve.tokens.a_token
            models[a_token.lower()] = BalanceModel.aave_scaled(a_token, market.pool, reserve.asset)
    return models
