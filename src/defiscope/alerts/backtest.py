"""Backtest a rule over stored history: the same `evaluate_block` as live, over the stored blocks of a range, with
the alerts it would have raised as webhook bodies (alert ids `bt_<rule>_<block>[_<subject>]`).

    await backtest(StoredFigures(repo.engine), rule, 100, 200)   # AlertMessage bodies, as live
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Final

from defiscope.alerts.engine import (
    ExposureSource,
    GovernanceSource,
    LoadedRule,
    SignalSource,
    events_at,
    events_span,
    exposure_wanted,
    load_rule,
    pool_window,
    to_message,
    uses,
)
from defiscope.alerts.evaluate import Extras, SubjectState, evaluate_block
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.pools import BlockTimes, PoolChain, PoolStateMissing, YoungPool, discovered_upto, historic_pools
from defiscope.chain.block import BlockRef
from defiscope.errors import InputError
from defiscope.store.alerts import StoredRule

#: Longest backtest range, in blocks.
MAX_BACKTEST_BLOCKS: Final = 100_000
#: Longest backtest range of a `new_protocol` rule over pools, in blocks: at each stored block of it the young
#: pools' holdings are read from the node (one multicall for all of them, at the block's hash: an archive node on
#: mainnet), plus one header per pool creation block met. 10,000 blocks is about 33 hours of Ethereum.
MAX_POOL_BACKTEST_BLOCKS: Final = 10_000
#: Kinds whose figure is not in the store: the backtest cannot replay them from history alone.
LIVE_ONLY: Final = {"indexer_health": "indexer health is only known live: it has no stored history to backtest"}

#: A backtest's progress: (stored blocks evaluated, stored blocks in the range).
BacktestProgress = Callable[[int, int], None]


class BacktestRefused(InputError):
    """A backtest that cannot be run: a live-only kind, a range that is empty, reversed or too long, or history the
    chain or the store does not have."""


def _backtest_id(rule_id: str, block: BlockRef, subject: str) -> str:
    return f"bt_{rule_id}_{block.number}" + (f"_{subject}" if subject else "")


async def backtest(
    figures: StoredFigures,
    stored: StoredRule,
    from_block: int,
    to_block: int,
    *,
    exposure: ExposureSource | None = None,
    governance: GovernanceSource | None = None,
    signals: SignalSource | None = None,
    pools: PoolChain | None = None,
    progress: BacktestProgress | None = None,
) -> list[dict[str, Any]]:
    """When the rule would have fired and resolved over the stored blocks in [from_block, to_block]: the webhook
    bodies live evaluation would have sent (alert ids `bt_<rule>_<block>[_<subject>]`).

    A `scope: pool` rule reads its young pools' holdings at each stored block from the chain through `pools`
    (`alerts.pools.historic_pools`, its creation cursors loaded from the store: `load_discovery`); `progress` is
    told (blocks done, blocks to do) after each block."""
    rule = backtestable(stored, from_block, to_block)
    if exposure_wanted([rule]) and exposure is None:
        raise BacktestRefused(
            "liquidation_exposure backtests read positions from the chain: run it from the CLI", field="rule"
        )
    within = pool_window(rule.spec.params)
    if within is not None and pools is None:
        raise BacktestRefused(
            "new_protocol rules over pools read the pools' holdings from the chain at each block, and this server "
            f"does not read chain {stored.chain_id}: run `defiscope alerts backtest`",
            field="rule",
        )
    chain_id = stored.chain_id
    numbers = await asyncio.to_thread(figures.stored_blocks, chain_id, from_block - 1, to_block, MAX_BACKTEST_BLOCKS)
    young = None if within is None or pools is None else _YoungAt(pools, within, numbers)
    proposals = await events_span(governance if uses([rule], "governance") else None, chain_id, numbers)
    published = await events_span(signals if uses([rule], "grade_signal") else None, chain_id, numbers)
    states: dict[str, SubjectState] = {}
    bodies: list[dict[str, Any]] = []
    for done, number in enumerate(numbers, 1):
        found = (
            await exposure(number, exposure_wanted([rule])) if exposure is not None and exposure_wanted([rule]) else {}
        )
        at = await asyncio.to_thread(figures.at, chain_id, number)
        if at is not None:
            extras = Extras(
                exposure=found,
                governance=events_at(proposals, number),
                signals=events_at(published, number),
                pools=None if young is None else await young.at(at.block),
            )
            moves = evaluate_block(
                rule.view, at, lambda n: figures.at_or_before(chain_id, n), extras, states, _backtest_id
            )
            bodies += [to_message(move, rule).body() for move in moves]
        if progress is not None:
            progress(done, len(numbers))
    return bodies


def backtestable(stored: StoredRule, from_block: int, to_block: int) -> LoadedRule:
    """The rule, if its kind and the range can be backtested (else `BacktestRefused`, naming the field): callers
    that open a chain for the backtest check this first, so a refusal costs nothing."""
    if stored.kind in LIVE_ONLY:
        raise BacktestRefused(LIVE_ONLY[stored.kind], field="rule")
    if from_block < 0 or to_block < from_block:
        raise BacktestRefused(
            f"--from-block {from_block} must be 0 or more and at most --to-block {to_block}", field="from_block"
        )
    if to_block - from_block + 1 > MAX_BACKTEST_BLOCKS:
        raise BacktestRefused(f"at most {MAX_BACKTEST_BLOCKS} blocks per backtest", field="to_block")
    rule = load_rule(stored)
    if pool_window(rule.spec.params) is not None and to_block - from_block + 1 > MAX_POOL_BACKTEST_BLOCKS:
        raise BacktestRefused(
            f"at most {MAX_POOL_BACKTEST_BLOCKS} blocks per backtest of a new_protocol rule over pools (it reads the "
            f"young pools' holdings from the chain at each block); {to_block - from_block + 1} asked",
            field="to_block",
        )
    return rule


class _YoungAt:
    """A pool-scope backtest's young pools at each stored block, read from the chain's historic state; refused
    up front when pool discovery is not stored up to the range's last block (which pools existed is unknown)."""

    __slots__ = ("_chain", "_times", "_within")

    def __init__(self, chain: PoolChain, within: int, numbers: Sequence[int]) -> None:
        known = discovered_upto(chain)
        if numbers and known is not None and known < numbers[-1]:
            raise BacktestRefused(
                f"pool discovery of chain {chain.client.chain_id} is stored up to block {known} only: backtest up "
                "to there, or let the indexer catch up",
                field="to_block",
            )
        self._chain, self._within, self._times = chain, within, BlockTimes(chain.client)

    async def at(self, block: BlockRef) -> Sequence[YoungPool] | str:
        try:
            return await historic_pools(self._chain, block, self._within, self._times)
        except PoolStateMissing as exc:
            raise BacktestRefused(str(exc), field="from_block") from exc
