"""How each token's balances are kept, as data: what is read per holder, what is read once per token when its
index may have changed (and which logs say so), which events name a holder whose balance moved, and the contract
surface that reading declares.

    BalanceModel.plain(usdc)                      # balanceOf; Transfer
    BalanceModel.weth(weth)                       # balanceOf; Transfer, Deposit, Withdrawal
    BalanceModel.lido_shares(steth)               # sharesOf x getTotalPooledEther / getTotalShares,
                                                  #   re-read after a TokenRebased, SharesBurnt or a mint
    BalanceModel.aave_scaled(a_weth, pool, weth)  # scaledBalanceOf x the normalized income, computed per block
                                                  #   from getReserveData, re-read after a ReserveDataUpdated
    models = await balance_models(deployment, reader)   # from chain: the registry's stETH and WETH, and every
                                                        # Aave market's aTokens with their Pool's rounding

`holdings.HolderBalances` follows (holder, token) pairs with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import structlog

from defiscope.chain.abi import checksum
from defiscope.chain.logs import log_hex
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import GET_RESERVE_DATA, GET_RESERVES_LIST, markets_of
from defiscope.protocols.holdings_math import (
    aave_balance,
    aave_balance_floor,
    aave_income_at,
    aave_rounds_down,
    index_as_read,
    lido_balance,
    plain_balance,
)
from defiscope.protocols.pool_events import topic
from defiscope.protocols.surface import ContractUse

log = structlog.get_logger(__name__)

BALANCE_OF: Final = "balanceOf(address)(uint256)"
SHARES_OF: Final = "sharesOf(address)(uint256)"
TOTAL_POOLED_ETHER: Final = "getTotalPooledEther()(uint256)"
TOTAL_SHARES: Final = "getTotalShares()(uint256)"
SCALED_BALANCE_OF: Final = "scaledBalanceOf(address)(uint256)"
POOL_REVISION: Final = "POOL_REVISION()(uint256)"
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
#: What changes stETH's totals (pooled ether, shares) besides a mint: an oracle report and a burn.
STETH_INDEX_EVENTS: Final = (
    "TokenRebased(uint256,uint256,uint256,uint256,uint256,uint256,uint256)",
    "SharesBurnt(address,uint256,uint256,uint256)",
)
#: A mint is a TransferShares from address zero (submits, and the fee shares of a report, which log nothing else).
STETH_MINT_EVENT: Final = "TransferShares(address,address,uint256)"
#: Every change of a reserve's stored liquidity index or rate ends in ``updateInterestRates``, which logs this.
RESERVE_DATA_UPDATED: Final = "ReserveDataUpdated(address,uint256,uint256,uint256,uint256,uint256)"
TRANSFER: Final = topic(TRANSFER_EVENT)
LIDO_STETH: Final = "LidoStETH"
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
ZERO_WORD: Final = "0x" + "00" * 32
#: getReserveData's fields, in ``ReserveDataLegacy`` order: liquidityIndex, currentLiquidityRate, lastUpdateTimestamp.
LIQUIDITY_INDEX, LIQUIDITY_RATE, LAST_UPDATE = 1, 2, 6
A_TOKEN_ADDRESS = 8


@dataclass(frozen=True, slots=True)
class IndexTrigger:
    """The logs after which a token's index must be read again: any log of `emitter` with one of `topics` (and,
    when `subject` is set, that address as its first indexed argument), or one of `mint_topics` from address
    zero."""

    emitter: str  # lowercase
    events: tuple[str, ...]  # signatures, for the surface
    topics: frozenset[str]
    mint_topics: frozenset[str] = frozenset()
    subject: str | None = None  # lowercase

    @classmethod
    def of(
        cls, emitter: str, events: Sequence[str], mints: Sequence[str] = (), subject: str | None = None
    ) -> IndexTrigger:
        return cls(
            emitter.lower(),
            (*events, *mints),
            frozenset(topic(e) for e in events),
            frozenset(topic(e) for e in mints),
            None if subject is None else subject.lower(),
        )

    def fires(self, topics: Sequence[Any]) -> bool:
        """Whether a log of `emitter` with these topics may have changed the index."""
        if not topics:
            return False
        first = log_hex(topics[0])
        if first in self.topics:
            return self.subject is None or (len(topics) > 1 and log_hex(topics[1])[-40:] == self.subject[2:])
        return first in self.mint_topics and len(topics) > 1 and log_hex(topics[1]) == ZERO_WORD


@dataclass(frozen=True, slots=True)
class BalanceModel:
    """How one token's balances are kept: what is read per holder, what once per block, and how they combine."""

    kind: str  # "plain", "weth", "lido_shares", "aave_scaled"
    token: str
    interface: str  # the token's real ABI (tests/fixtures/abi), for the surface
    holder_read: str  # the per-holder read, called as ``token.<holder_read>(holder)``
    events: tuple[str, ...]  # events whose indexed addresses name holders whose raw amount changed
    index: tuple[Call, ...]  # the index state, read when first held and after `trigger` fires; () when plain
    combine: Callable[[int, tuple[int, ...]], int]  # (raw amount, index) -> balanceOf
    topics: frozenset[str]  # topic0s of `events`
    #: The index state's values from the `index` reads' single outputs.
    index_state: Callable[[Sequence[Any]], tuple[int, ...]] = tuple
    #: The index at a block's timestamp from its state (pure: interest that accrues with time is computed).
    index_at: Callable[[tuple[int, ...], int], tuple[int, ...]] = index_as_read
    trigger: IndexTrigger | None = None

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
        """stETH: ``sharesOf`` per holder; ``getTotalPooledEther()`` and ``getTotalShares()`` after a report, a
        burn or a mint (nothing else changes them)."""
        index = (Call.of(steth, TOTAL_POOLED_ETHER), Call.of(steth, TOTAL_SHARES))
        trigger = IndexTrigger.of(steth, STETH_INDEX_EVENTS, mints=(STETH_MINT_EVENT,))
        model = cls._of("lido_shares", steth, "lido/StETH", SHARES_OF, STETH_EVENTS, index, lido_balance)
        return replace(model, trigger=trigger)

    @classmethod
    def aave_scaled(cls, a_token: str, pool: str, underlying: str, *, floor: bool = False) -> BalanceModel:
        """An Aave V3 aToken: ``scaledBalanceOf`` per holder; the reserve's stored state (``getReserveData``)
        after each ``ReserveDataUpdated`` of its reserve, and from it the normalized income at each block.
        Up to v3.4 (and @aave/core-v3, the devnet's) the balance is rayMul, half up; v3.5's aTokens round down
        (``floor``, see `aave_rounds_down`)."""
        index = (Call.of(pool, GET_RESERVE_DATA, underlying),)
        combine = aave_balance_floor if floor else aave_balance
        model = cls._of("aave_scaled", a_token, "aave/IAToken", SCALED_BALANCE_OF, A_TOKEN_EVENTS, index, combine)
        trigger = IndexTrigger.of(pool, (RESERVE_DATA_UPDATED,), subject=underlying)
        return replace(model, trigger=trigger, index_state=_reserve_state, index_at=aave_income_at)

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


def _reserve_state(values: Sequence[Any]) -> tuple[int, ...]:
    (data,) = values
    return (int(data[LIQUIDITY_INDEX]), int(data[LIQUIDITY_RATE]), int(data[LAST_UPDATE]))


def holdings_surface(models: Iterable[BalanceModel]) -> tuple[ContractUse, ...]:
    """What following these models reads, one use per kind (the tokens are found at run time): the per-holder
    read, ``balanceOf`` (reconcile), the index, the events naming holders and those saying an index changed."""
    uses: dict[str, ContractUse] = {}
    for model in (*models, BalanceModel.plain(ZERO_ADDRESS)):  # any other token is plain
        if model.kind in uses:
            continue
        own_index = tuple(_signature(c) for c in model.index if c.target == model.token)
        calls = tuple(dict.fromkeys((model.holder_read, BALANCE_OF, *own_index)))
        own_events = (
            model.trigger.events if model.trigger is not None and model.trigger.emitter == model.token.lower() else ()
        )
        events = tuple(dict.fromkeys((*model.events, *own_events)))
        uses[model.kind] = ContractUse(f"held token ({model.kind})", model.interface, calls, events)
        if model.kind == "aave_scaled":  # the index is the reserve's, read from its Pool
            uses["aave_pool"] = AAVE_POOL_USE
    return tuple(uses.values())


#: The Pool behind a held aToken: its reserve state (after each ReserveDataUpdated).
AAVE_POOL_USE: Final = ContractUse(
    "Aave V3 Pool (reserve state of a held aToken)", "aave/IPool", (GET_RESERVE_DATA,), (RESERVE_DATA_UPDATED,)
)


def detection_surface() -> tuple[ContractUse, ...]:
    """What `balance_models` reads to find the models (each registry Aave market's reserves and revision), and
    what following any model it can find reads: for an adapter that detects models at run time."""
    some_pool = "0x0000000000000000000000000000000000000001"  # any address but the token's: the index is the Pool's
    every_kind = (
        BalanceModel.weth(ZERO_ADDRESS),
        BalanceModel.lido_shares(ZERO_ADDRESS),
        BalanceModel.aave_scaled(ZERO_ADDRESS, some_pool, ZERO_ADDRESS),
    )
    detection = (
        ContractUse("Aave V3 Pool (reserves, to find aTokens)", "aave/IPool", (GET_RESERVES_LIST, GET_RESERVE_DATA)),
        ContractUse("Aave V3 Pool (revision: v3.5 rounds aToken balances down)", "aave/Pool", (POOL_REVISION,)),
    )
    return (*holdings_surface(every_kind), *detection)


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
    """Every registry token that is not plain: `registry_models` and the aTokens of every Aave V3 market, read
    from chain in two batches (each Pool's reserve list and ``POOL_REVISION()``, then each reserve's aToken from
    ``getReserveData``); the revision says how the market's aTokens round (`aave_rounds_down`). A market whose
    reads fail is logged and its aTokens stay plain (re-read whenever a log touches them; the reconciliation
    still checks them). Any other token is plain (`HolderBalances.model`)."""
    models = registry_models(deployment)
    pools = [market.pool for market in markets_of(deployment)]
    heads = await reader.call_many(
        [c for p in pools for c in (Call.of(p, GET_RESERVES_LIST), Call.of(p, POOL_REVISION))]
    )
    listed: list[tuple[str, str, bool]] = []  # (pool, asset, floor)
    for pool, (reserves, revision) in zip(pools, zip(heads[::2], heads[1::2], strict=True), strict=True):
        failed = next((r for r in (reserves, revision) if not r.success), None)
        if failed is not None:
            log.warning("holdings.market_unread", pool=pool, call=failed.call.describe(), error=failed.error)
            continue
        floor = aave_rounds_down(revision.one())
        listed += [(pool, asset, floor) for asset in reserves.one()]
    data = await reader.call_many([Call.of(pool, GET_RESERVE_DATA, asset) for pool, asset, _ in listed])
    for (pool, asset, floor), result in zip(listed, data, strict=True):
        if not result.success:
            log.warning("holdings.reserve_unread", pool=pool, asset=asset, error=result.error)
            continue
        a_token = result.one()[A_TOKEN_ADDRESS]
        models[a_token.lower()] = BalanceModel.aave_scaled(a_token, pool, asset, floor=floor)
    return models
