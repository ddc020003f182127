"""An index tracked live: built at its first eligible stored block, stepped at each new one, its values stored.

The same engine as a backtest (`backtest.IndexRun`): at each block it rebalances when the schedule says so, with
exact quotes at that block (the `Venue`), and values the holdings at the block's stored prices. `advance(head)`
reads the stored blocks after the last one tracked (`history.StoreHistory`, point in time), steps through them
and stores one row per block (`store.indices`): the level and benchmarks, the holdings, or why there is no level.
Until some block can build the index (the eligibility rule leaves nothing on a short history, the hub has no
price yet), each block is stored with that reason and the next block tries again: a status, not an error.

    tracker = IndexTracker(definition, chain_id, open_history, venue, decimals, values)
    tracker.advance(head)       # blocking (reads the store and the chain): run it off the event loop
    tracker.status.state        # "tracking", "not built" or "failing", with `reason`

A restart resumes from the store: the first `advance` reads the last stored value's block and the run state kept
with the newest rebalance at or before it (`state.RunState`), and steps on from the next block, so a restart costs
one read, not a replay, and each step reads only the blocks it steps (`history.StoreHistory` loads a range's
window). A reorg: `forget_from(block)` drops what was built; the store has dropped the rolled-back rows with their
blocks, so the next `advance` resumes from what is left in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Final, Literal

from defiscope.analytics.indices.backtest import (
    BacktestOptions,
    BacktestRefused,
    IndexRun,
    PricePoint,
    SeriesPoint,
    Venue,
)
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.history import StoreHistory
from defiscope.analytics.indices.rebalance import Unvalued, weights_of
from defiscope.analytics.indices.schedule import schedule_of
from defiscope.analytics.indices.state import RunState
from defiscope.store.indices import IndexValue, IndexValueStore

#: Decimal places of a stored level (exact fractions are kept in memory; the store keeps this many).
STORED_PLACES: Final = 18

#: Reads the stored history from `first` to `last` (None: the first, the last stored block), as of each block.
HistoryOpener = Callable[[int | None, int | None], StoreHistory]

State = Literal["waiting", "tracking", "not built", "failing"]


@dataclass(frozen=True, slots=True)
class TrackStatus:
    """Where a tracked index stands: its state, the last block tracked, and why it is not tracking (if not)."""

    index: str
    chain_id: int
    state: State
    last_block: int | None
    reason: str | None = None


class IndexTracker:
    """One index on one chain, stepped block by block and stored."""

    def __init__(
        self,
        definition: IndexDefinition,
        chain_id: int,
        open_history: HistoryOpener,
        venue: Venue,
        decimals: Mapping[str, int],
        values: IndexValueStore,
        options: BacktestOptions | None = None,
    ) -> None:
        self.definition = definition
        self.chain_id = chain_id
        self._open_history = open_history
        self._venue = venue
        self._decimals = decimals
        self._values = values
        self._options = options or BacktestOptions()
        self._run: IndexRun | None = None
        self._last: int | None = None
        self._restored = False  # the stored state was read (once, and again after a rollback)
        self._kept: RunState | None = None  # the stored state the next step resumes from
        self._forget: int | None = None  # set by a rollback (another thread), applied by the next advance
        self.status = TrackStatus(definition.id, chain_id, "waiting", None, "no block indexed since the start")

    def forget_from(self, block: int) -> None:
        """Blocks from `block` on were rolled back: what was built on them goes; the next advance replays.

        Only recorded here (a rollback runs on the indexer's side, an advance on the tracker's thread)."""
        self._forget = block if self._forget is None else min(self._forget, block)

    @property
    def last_block(self) -> int | None:
        """The last block tracked (None: none yet, or forgotten by a rollback)."""
        return self._last

    def advance(self, head: int, max_blocks: int | None = None) -> TrackStatus:
        """Track the stored blocks after the last tracked one, up to `head` (at most `max_blocks` of them, so a
        long catch-up stores as it goes and can be stopped between calls); store their values."""
        forget, self._forget = self._forget, None
        if forget is not None and self._last is not None and self._last >= forget:
            self._run, self._last, self._kept, self._restored = None, None, None, False
        if not self._restored:
            self._restore()
        first = None if self._last is None else self._last + 1
        if first is not None and first > head:
            return self.status
        try:
            history = self._open_history(first, head)
        except BacktestRefused as exc:  # nothing stored in the range yet
            self.status = TrackStatus(self.definition.id, self.chain_id, "waiting", self._last, str(exc))
            return self.status
        done: list[IndexValue] = []
        try:
            for point in history.points()[:max_blocks]:
                done.append(self._step(point, history))
                self._last = point.block
        except Exception as exc:
            self.status = TrackStatus(self.definition.id, self.chain_id, "failing", self._last, f"{exc}")
            raise
        finally:
            self._values.save(self.definition.id, self.chain_id, done)
        return self.status

    def _restore(self) -> None:
        """Go on from the last stored value: the run as kept at the newest rebalance at or before it, if any."""
        index, chain = self.definition.id, self.chain_id
        last = self._values.at_or_before(index, chain)
        self._restored = True
        if last is None:
            return
        rebalance = self._values.last_rebalance_state(index, chain, last.block.number)
        if rebalance is None:  # stored while not built: the next block tries to build it
            self._last = last.block.number
            self.status = TrackStatus(index, chain, "not built", self._last, last.missing)
            return
        if rebalance[1] is None:  # stored before states were kept: replay the history from its start
            return
        self._last, self._kept = last.block.number, RunState.from_json(rebalance[1])
        self.status = TrackStatus(index, chain, "tracking", self._last, last.missing)

    def _new_run(self, history: StoreHistory) -> IndexRun:
        schedule = self._options.schedule or schedule_of(self.definition.rebalance)
        return IndexRun(self.definition, self._decimals, history, self._venue, self._options, schedule)

    def _step(self, point: PricePoint, history: StoreHistory) -> IndexValue:
        if self._run is None and self._kept is not None:
            resumed = self._new_run(history)
            resumed.resume(self._kept)
            self._run, self._kept = resumed, None
        if self._run is None:
            run = self._new_run(history)
            try:
                run.start(point)
            except BacktestRefused as exc:
                self.status = TrackStatus(self.definition.id, self.chain_id, "not built", point.block, str(exc))
                return IndexValue(point.block, None, None, None, missing=str(exc))
            self._run = run
        run = self._run
        run.source = history  # the candidates as known at this block (point in time)
        run.step(point)
        shown = run.series.pop()  # kept in the store, not in memory
        run.series.clear()
        run.rebalances.clear()  # the schedule reads `run.last`; the trades are the backtest's to show
        rebalanced = run.state().last.block == point.block
        # A rebalance due here but not done (the rule left nothing, a member unpriced) is said in the status.
        skipped = [f"rebalance skipped at block {s.block}: {s.reason}" for s in run.skipped]
        run.skipped.clear()
        reason = "; ".join(r for r in (shown.reason, *skipped) if r) or None
        self.status = TrackStatus(self.definition.id, self.chain_id, "tracking", point.block, reason)
        kept = run.state().to_json() if rebalanced else None
        return _value(shown, dict(run.holdings), _weights(run, point), rebalanced, kept)


def _weights(run: IndexRun, point: PricePoint) -> dict[str, Decimal]:
    """The holdings' shares of their value at the block ({} when they cannot be valued there)."""
    try:
        shares = weights_of(run.holdings, run.market(point))
    except Unvalued:
        return {}
    return {symbol: _exact(share) for symbol, share in shares.items()}


def _value(
    point: SeriesPoint,
    holdings: dict[str, int],
    weights: dict[str, Decimal],
    rebalanced: bool,
    run_state: dict[str, Any] | None,
) -> IndexValue:
    return IndexValue(
        point.block,
        _decimal(point.level),
        _decimal(point.equal_weight),
        _decimal(point.weth),
        holdings,
        weights,
        rebalanced,
        point.reason if point.level is None else None,
        run_state,
    )


def _decimal(value: Fraction | None) -> Decimal | None:
    return None if value is None else _exact(value)


def _exact(value: Fraction) -> Decimal:
    """The fraction to `STORED_PLACES` decimals (half-even)."""
    with localcontext() as context:
        context.prec = 60
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-STORED_PLACES))
