"""Published grades in the store (revision 0016): the document of each published block, verbatim, and its signals.

    >>> import tempfile
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/grades.db")  # doctest: +ELLIPSIS
    2...
    >>> block = BlockRef(chain_id=1, number=7, hash="0x" + "ab" * 32, timestamp=1_700_000_000)
    >>> repo.save_yields(block, [], protocols=["aave-v3"])  # any write stores the block: publications need it
    0
    >>> store = GradeStore(repo.engine)
    >>> store.publish(block, "1.0.0", '{"grades": []}', [StoredSignal(7, "aave", "trader", "bullish", '{"x": 1}')])
    >>> store.at_or_before(1, 100).document, store.at_or_before(1, 6)
    ('{"grades": []}', None)
    >>> [(s.entity, s.state) for s in store.signals(1)], store.states_before(1, 8)
    ([('aave', 'bullish')], {('aave', 'trader'): 'bullish'})

Publishing a block again replaces its document and signals; `Repository.rollback_from` drops them with the block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, Select, delete, func, insert, select
from sqlalchemy.orm import sessionmaker

from defiscope.chain.block import BlockRef
from defiscope.store.database import WRITE_OPTION
from defiscope.store.errors import BlockConflictError
from defiscope.store.models import Block, GradePublicationRow, GradeSignalRow, SignalPassRow


@dataclass(frozen=True, slots=True)
class Publication:
    """The grades published at `block`: `document` is the JSON text exactly as it was published."""

    block: BlockRef
    formula_version: str
    document: str


@dataclass(frozen=True, slots=True)
class StoredSignal:
    """A signal published at `block_number`: one entity's `horizon` state became `state`; `document` is its JSON."""

    block_number: int
    entity: str
    horizon: str
    state: str
    document: str


class GradeStore:
    """The `grade_publications` and `grade_signals` tables over one migrated Engine."""

    __slots__ = ("_reads", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    def publish(self, block: BlockRef, formula_version: str, document: str, signals: Sequence[StoredSignal]) -> None:
        """Store the grades of `block` and their signals, replacing what was published there (one transaction).

        The block must be stored with this hash: a missing block or another hash raises `BlockConflictError`."""
        where = {"chain_id": block.chain_id, "block_number": block.number}
        with self._writes.begin() as session:
            stored = session.scalar(
                select(Block.hash).where(Block.chain_id == block.chain_id, Block.number == block.number)
            )
            if stored != block.hash:
                raise BlockConflictError(block.chain_id, block.number, str(stored), block.hash)
            for table in (GradeSignalRow, GradePublicationRow):
                session.execute(
                    delete(table).where(table.chain_id == block.chain_id, table.block_number == block.number),
                    execution_options={"synchronize_session": False},
                )
            session.execute(
                insert(GradePublicationRow), [{**where, "formula_version": formula_version, "document": document}]
            )
            rows = [_signal_values(block, signal) for signal in signals]
            if rows:
                session.execute(insert(GradeSignalRow), rows)

    def at_or_before(self, chain_id: int, number: int | None = None) -> Publication | None:
        """The newest publication at or before block `number` (the newest of all when None); None if there is none."""
        stmt = _publications(chain_id).order_by(GradePublicationRow.block_number.desc()).limit(1)
        if number is not None:
            stmt = stmt.where(GradePublicationRow.block_number <= number)
        with self._reads() as session:
            found = session.execute(stmt).first()
            return None if found is None else _publication(found[0], found[1])

    def publications(self, chain_id: int) -> list[Publication]:
        """Every publication of a chain, oldest first."""
        with self._reads() as session:
            rows = session.execute(_publications(chain_id).order_by(GradePublicationRow.block_number))
            return [_publication(row, block) for row, block in rows]

    def first_block(self, chain_id: int) -> int | None:
        """The oldest published block of a chain (None before the first publication)."""
        stmt = select(func.min(GradePublicationRow.block_number)).where(GradePublicationRow.chain_id == chain_id)
        with self._reads() as session:
            return session.scalar(stmt)

    def published_blocks(self, chain_id: int, after: int | None, upto: int) -> list[int]:
        """The blocks in (after, upto] with grades published, oldest first."""
        stmt = select(GradePublicationRow.block_number).where(
            GradePublicationRow.chain_id == chain_id, GradePublicationRow.block_number <= upto
        )
        if after is not None:
            stmt = stmt.where(GradePublicationRow.block_number > after)
        with self._reads() as session:
            return sorted(int(n) for n in session.scalars(stmt))

    def judged_through(self, chain_id: int, depth: int) -> int | None:
        """The newest publication block the signal rules of `depth` judged (`signal_passes`), None before any."""
        stmt = select(func.max(SignalPassRow.block_number)).where(
            SignalPassRow.chain_id == chain_id, SignalPassRow.depth == depth
        )
        with self._reads() as session:
            return session.scalar(stmt)

    def start_signal_passes(self, chain_id: int, depth: int, block_number: int) -> None:
        """Record where the signal passes of `depth` start, before the first publication at `block_number` is handed
        to them: the newest stored block below it counts as judged. So nothing before it is judged (the embedded
        engine starts at the block it is told), and passes that run in any order judge every publication from
        `block_number` on. Nothing when a pass is recorded already, or when no block below is stored (then no
        publication is before it either)."""
        with self._writes.begin() as session:
            passed = select(SignalPassRow.block_number).where(
                SignalPassRow.chain_id == chain_id, SignalPassRow.depth == depth
            )
            if session.scalar(passed.limit(1)) is not None:
                return
            origin = session.scalar(
                select(func.max(Block.number)).where(Block.chain_id == chain_id, Block.number < block_number)
            )
            if origin is not None:
                session.add(SignalPassRow(chain_id=chain_id, depth=depth, block_number=origin))

    def mark_judged(self, chain_id: int, block_number: int, depth: int) -> None:
        """Record the pass at the block as done (once: marking it again changes nothing)."""
        with self._writes.begin() as session:
            if session.get(SignalPassRow, (chain_id, depth, block_number)) is None:
                session.add(SignalPassRow(chain_id=chain_id, depth=depth, block_number=block_number))

    def published_at(self, chain_id: int, block_number: int) -> bool:
        """Whether grades are published at the block."""
        stmt = select(GradePublicationRow.id).where(
            GradePublicationRow.chain_id == chain_id, GradePublicationRow.block_number == block_number
        )
        with self._reads() as session:
            return session.scalar(stmt) is not None

    def time_before(self, chain_id: int, number: int) -> int | None:
        """The timestamp of the newest publication before block `number` (None when there is none)."""
        stmt = (
            select(Block.timestamp)
            .join(
                GradePublicationRow,
                (Block.chain_id == GradePublicationRow.chain_id) & (Block.number == GradePublicationRow.block_number),
            )
            .where(Block.chain_id == chain_id, Block.number < number)
            .order_by(Block.number.desc())
            .limit(1)
        )
        with self._reads() as session:
            return session.scalar(stmt)

    def version(self, chain_id: int) -> tuple[int, int, int, str] | None:
        """What identifies the set of publications of a chain (None before the first): (count, the newest row id,
        the newest published block's number and hash). Publishing (again) adds a row with a new id, a reorg drops
        rows and changes the newest block's hash, so any change of the published history changes this."""
        rows = select(func.count(), func.max(GradePublicationRow.id)).where(GradePublicationRow.chain_id == chain_id)
        newest = (
            select(Block.number, Block.hash)
            .join(
                GradePublicationRow,
                (Block.chain_id == GradePublicationRow.chain_id) & (Block.number == GradePublicationRow.block_number),
            )
            .where(Block.chain_id == chain_id)
            .order_by(Block.number.desc())
            .limit(1)
        )
        with self._reads() as session:
            count, newest_id = session.execute(rows).one()
            block = session.execute(newest).first()
        if not count or block is None:
            return None
        return count, newest_id, block.number, block.hash

    def states_before(self, chain_id: int, number: int) -> dict[tuple[str, str], str]:
        """Each (entity, horizon)'s state after its latest signal before block `number` (absent: never signalled)."""
        newest = (
            select(GradeSignalRow.entity, GradeSignalRow.horizon, func.max(GradeSignalRow.block_number).label("at"))
            .where(GradeSignalRow.chain_id == chain_id, GradeSignalRow.block_number < number)
            .group_by(GradeSignalRow.entity, GradeSignalRow.horizon)
            .subquery()
        )
        stmt = select(GradeSignalRow.entity, GradeSignalRow.horizon, GradeSignalRow.state).join(
            newest,
            (GradeSignalRow.entity == newest.c.entity)
            & (GradeSignalRow.horizon == newest.c.horizon)
            & (GradeSignalRow.block_number == newest.c.at),
        )
        with self._reads() as session:
            return {(e, h): s for e, h, s in session.execute(stmt.where(GradeSignalRow.chain_id == chain_id))}

    def signals(self, chain_id: int, entity: str | None = None, limit: int | None = None) -> list[StoredSignal]:
        """Published signals, newest first (then by entity and horizon), of one entity or all."""
        stmt = select(GradeSignalRow).where(GradeSignalRow.chain_id == chain_id)
        if entity is not None:
            stmt = stmt.where(GradeSignalRow.entity == entity)
        stmt = stmt.order_by(GradeSignalRow.block_number.desc(), GradeSignalRow.entity, GradeSignalRow.horizon)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reads() as session:
            return [
                StoredSignal(r.block_number, r.entity, r.horizon, r.state, r.document) for r in session.scalars(stmt)
            ]

    def signals_between(self, chain_id: int, first: int, last: int) -> list[StoredSignal]:
        """The signals published at blocks `first` to `last` (inclusive), oldest first (then entity and horizon):
        one bounded read for a span of blocks (the alert rules' `grade_signal` source)."""
        stmt = (
            select(GradeSignalRow)
            .where(
                GradeSignalRow.chain_id == chain_id,
                GradeSignalRow.block_number >= first,
                GradeSignalRow.block_number <= last,
            )
            .order_by(GradeSignalRow.block_number, GradeSignalRow.entity, GradeSignalRow.horizon)
        )
        with self._reads() as session:
            return [
                StoredSignal(r.block_number, r.entity, r.horizon, r.state, r.document) for r in session.scalars(stmt)
            ]


def _publications(chain_id: int) -> Select[GradePublicationRow, Block]:
    return (
        select(GradePublicationRow, Block)
        .join(
            Block,
            (Block.chain_id == GradePublicationRow.chain_id) & (Block.number == GradePublicationRow.block_number),
        )
        .where(GradePublicationRow.chain_id == chain_id)
    )


def _publication(row: GradePublicationRow, block: Block) -> Publication:
    ref = BlockRef(chain_id=block.chain_id, number=block.number, hash=block.hash, timestamp=block.timestamp)
    return Publication(ref, row.formula_version, row.document)


def _signal_values(block: BlockRef, signal: StoredSignal) -> dict[str, object]:
    if signal.block_number != block.number:
        raise ValueError(f"a signal of block {signal.block_number} published with block {block.number}")
    return {
        "chain_id": block.chain_id,
        "block_number": block.number,
        "entity": signal.entity,
        "horizon": signal.horizon,
        "state": signal.state,
        "document": signal.document,
    }
