"""Grade passes in the store (revision 0025): the blocks of the clock chain told to the grades publisher under
workers, judged by the grades jobs in block order.

    >>> import tempfile
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/passes.db")  # doctest: +ELLIPSIS
    2...
    >>> blocks = [BlockRef(1, n, "0x" + f"{n:064x}", 1_700_000_000 + 12 * n) for n in (7, 8, 9)]
    >>> for block in blocks:  # any write stores the block: a pass needs it
    ...     _ = repo.save_yields(block, [], protocols=["aave-v3"])
    >>> passes = GradePasses(repo.engine)
    >>> for block in blocks:
    ...     passes.told(block, "1.0.0")
    >>> [b.number for b in passes.unjudged_through(blocks[1], "1.0.0")]   # in block order, up to block 8
    [7, 8]
    >>> passes.mark_judged(blocks[0], "1.0.0"); passes.mark_judged(blocks[1], "1.0.0")
    >>> passes.unjudged_through(blocks[0], "1.0.0"), passes.judged_through(1, "1.0.0")   # 7 is judged already
    ([], 8)

Only the grades jobs judge, one at a time per chain and formula (a lease), in block order: the judged rows are the
oldest ones, and the newest judged row is where the next job continues. A failed try at publishing is counted on
its block's row with the reason (`failed`, `errors`): a block that keeps failing is judged unpublished in the end.
`Repository.rollback_from` drops the rows of the blocks it removes (the follow job then tells the new fork's blocks).
Judging a block deletes the rows judged without a failure more than `KEPT_BEHIND` blocks below it: the table stays
bounded, while a rollback (at most a chain's finality depth) still leaves a judged row to continue after.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import ColumnElement, Engine, and_, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from defiscope.chain.block import BlockRef
from defiscope.store.database import WRITE_OPTION, dialect_insert
from defiscope.store.errors import BlockConflictError
from defiscope.store.models import Block, GradePassRow

#: Judged rows kept below the newest judged one: beyond every chain's finality depth (the deepest, Polygon's, 128),
#: so a rollback never removes every judged row.
KEPT_BEHIND: Final = 256


class GradePasses:
    """The `grade_passes` table over one migrated Engine."""

    __slots__ = ("_reads", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    def told(self, block: BlockRef, formula_version: str) -> None:
        """Record that the publisher was told of stored `block` (not judged yet; told again, nothing changes)."""
        with self._writes.begin() as session:
            _tell(session, block, formula_version)

    def judged_through(self, chain_id: int, formula_version: str) -> int | None:
        """The newest judged block (None before any)."""
        with self._reads() as session:
            return _judged_through(session, chain_id, formula_version)

    def unjudged_through(self, block: BlockRef, formula_version: str) -> list[BlockRef]:
        """The told blocks not judged yet up to `block`, oldest first, `block` itself recorded as told if it was
        not (a job sent for a block the follow job did not record); none when the judged ones reach `block`."""
        with self._writes.begin() as session:
            after = _judged_through(session, block.chain_id, formula_version)
            if after is not None and after >= block.number:
                return []
            _tell(session, block, formula_version)
            stmt = (
                select(Block)
                .join(
                    GradePassRow,
                    (Block.chain_id == GradePassRow.chain_id) & (Block.number == GradePassRow.block_number),
                )
                .where(
                    GradePassRow.chain_id == block.chain_id,
                    GradePassRow.formula_version == formula_version,
                    GradePassRow.block_number <= block.number,
                    GradePassRow.judged.is_(False),
                )
                .order_by(GradePassRow.block_number)
            )
            if after is not None:
                stmt = stmt.where(GradePassRow.block_number > after)
            return [BlockRef(b.chain_id, b.number, b.hash, b.timestamp) for b in session.scalars(stmt)]

    def mark_judged(self, block: BlockRef, formula_version: str) -> None:
        """Record the block as judged. Rolled back meanwhile, its row is gone: nothing to mark; replaced by another
        fork's block of that number, `BlockConflictError` (that block is judged on its own)."""
        with self._writes.begin() as session:
            stored = session.scalar(
                select(Block.hash).where(Block.chain_id == block.chain_id, Block.number == block.number)
            )
            if stored is None:
                return
            if stored != block.hash:
                raise BlockConflictError(block.chain_id, block.number, stored, block.hash)
            session.execute(update(GradePassRow).where(_row(block, formula_version)).values(judged=True))
            session.execute(
                delete(GradePassRow).where(
                    GradePassRow.chain_id == block.chain_id,
                    GradePassRow.formula_version == formula_version,
                    GradePassRow.block_number < block.number - KEPT_BEHIND,
                    GradePassRow.judged,
                    GradePassRow.failures == 0,
                )
            )

    def failed(self, block: BlockRef, formula_version: str, error: str) -> int:
        """Count a failed try at publishing at the block, keeping its reason; the tries failed so far (0: the row
        went with a rollback)."""
        with self._writes.begin() as session:
            session.execute(
                update(GradePassRow)
                .where(_row(block, formula_version))
                .values(failures=GradePassRow.failures + 1, error=error)
            )
            return session.scalar(select(GradePassRow.failures).where(_row(block, formula_version))) or 0

    def errors(self, chain_id: int, formula_version: str) -> list[tuple[int, int, str]]:
        """(block, failed tries, the last reason) of each block whose publication failed, oldest first."""
        stmt = (
            select(GradePassRow.block_number, GradePassRow.failures, GradePassRow.error)
            .where(
                GradePassRow.chain_id == chain_id,
                GradePassRow.formula_version == formula_version,
                GradePassRow.failures > 0,
            )
            .order_by(GradePassRow.block_number)
        )
        with self._reads() as session:
            return [(int(n), int(f), str(e)) for n, f, e in session.execute(stmt)]


def _tell(session: Session, block: BlockRef, formula_version: str) -> None:
    row = {"chain_id": block.chain_id, "formula_version": formula_version, "block_number": block.number}
    new = dialect_insert(session, GradePassRow).values(**row, judged=False, failures=0)
    session.execute(new.on_conflict_do_nothing())


def _row(block: BlockRef, formula_version: str) -> ColumnElement[bool]:
    return and_(
        GradePassRow.chain_id == block.chain_id,
        GradePassRow.formula_version == formula_version,
        GradePassRow.block_number == block.number,
    )


def _judged_through(session: Session, chain_id: int, formula_version: str) -> int | None:
    stmt = select(func.max(GradePassRow.block_number)).where(
        GradePassRow.chain_id == chain_id, GradePassRow.formula_version == formula_version, GradePassRow.judged
    )
    return session.scalar(stmt)


__all__ = ["GradePasses"]
