"""Grade factor values in the store (revision 0015): written per block of the clock chain, read back per block.

    >>> import tempfile
    >>> from decimal import Decimal
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/factors.db")  # doctest: +ELLIPSIS
    2...
    >>> block = BlockRef(chain_id=1, number=7, hash="0x" + "ab" * 32, timestamp=1_700_000_000)
    >>> repo.save_yields(block, [], protocols=["aave-v3"])  # any write stores the block: factors need it
    0
    >>> store = FactorStore(repo.engine)
    >>> store.replace_block(block, [
    ...     FactorValue("aave", "tvl_share", block, Decimal("0.6"), None, InputBlock(1, 7)),
    ...     FactorValue("lido", "momentum_7d", block, None, "no price for LDO at or before block 7", None)])
    2
    >>> [(f.entity, f.name, f.value) for f in store.at_block(1, 7)]
    [('aave', 'tvl_share', Decimal('0.6')), ('lido', 'momentum_7d', None)]
    >>> store.at_block(1, 7)[1].missing
    'no price for LDO at or before block 7'

Writing a block replaces every factor stored at it (a shorter list leaves nothing stale); `Repository.rollback_from`
drops the rows of orphaned blocks with the blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import sessionmaker

from defiscope.chain.block import BlockRef
from defiscope.store.database import WRITE_OPTION
from defiscope.store.errors import BlockConflictError
from defiscope.store.models import Block, GradeFactorRow
from defiscope.store.types import check_decimal

_NO_SYNC: Final = {"synchronize_session": False}


@dataclass(frozen=True, slots=True, order=True)
class InputBlock:
    """A block some input of a factor was read at (any chain)."""

    chain_id: int
    number: int


@dataclass(frozen=True, slots=True)
class FactorValue:
    """One factor of one entity at `block` (the clock chain's): a value, or None and why (`missing`).

    `inputs` is the newest block of the inputs it was computed from; None when no input was found at all.
    `inputs_clock_block` is that input's counterpart on the clock's chain (the input's own number there; for
    another chain, the newest stored clock-chain block at or before its time): what grades show as its block."""

    entity: str
    name: str
    block: BlockRef
    value: Decimal | None
    missing: str | None
    inputs: InputBlock | None
    inputs_clock_block: int | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.missing is None):
            raise ValueError(f"factor {self.name} of {self.entity}: give a value or the reason it is missing")


class FactorStore:
    """The `grade_factors` table over one migrated Engine."""

    __slots__ = ("_reads", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    def replace_block(self, block: BlockRef, values: Sequence[FactorValue]) -> int:
        """Store `values` as the factors of `block`, replacing all stored there; returns the rows written.

        The block must be stored with this hash (factors are computed at indexed blocks): a missing block or
        another hash raises `BlockConflictError`."""
        rows = [_row_values(block, value) for value in values]
        with self._writes.begin() as session:
            stored = session.scalar(
                select(Block.hash).where(Block.chain_id == block.chain_id, Block.number == block.number)
            )
            if stored != block.hash:
                raise BlockConflictError(block.chain_id, block.number, str(stored), block.hash)
            session.execute(
                delete(GradeFactorRow).where(
                    GradeFactorRow.chain_id == block.chain_id, GradeFactorRow.block_number == block.number
                ),
                execution_options=_NO_SYNC,
            )
            if rows:
                session.execute(insert(GradeFactorRow), rows)
        return len(rows)

    def block(self, chain_id: int, number: int) -> BlockRef | None:
        """The stored block (the clock a computation runs at), None when it is not stored."""
        with self._reads() as session:
            row = session.scalar(select(Block).where(Block.chain_id == chain_id, Block.number == number))
            return None if row is None else BlockRef(row.chain_id, row.number, row.hash, row.timestamp)

    def clock_block_at(self, clock: BlockRef, timestamp: int) -> int | None:
        """The newest stored block of the clock's chain, not after the clock, whose time is at or before
        `timestamp`; None when there is none."""
        stmt = select(func.max(Block.number)).where(
            Block.chain_id == clock.chain_id, Block.number <= clock.number, Block.timestamp <= timestamp
        )
        with self._reads() as session:
            return session.scalar(stmt)

    def at_block(self, chain_id: int, number: int) -> list[FactorValue]:
        """The factors stored at a block, by entity then factor name; [] when none were computed there."""
        stmt = (
            select(GradeFactorRow, Block)
            .join(Block, (Block.chain_id == GradeFactorRow.chain_id) & (Block.number == GradeFactorRow.block_number))
            .where(GradeFactorRow.chain_id == chain_id, GradeFactorRow.block_number == number)
            .order_by(GradeFactorRow.entity, GradeFactorRow.name)
        )
        with self._reads() as session:
            return [_to_value(row, block) for row, block in session.execute(stmt)]

    def blocks(self, chain_id: int) -> list[int]:
        """Blocks of a chain with factors stored, oldest first."""
        stmt = (
            select(GradeFactorRow.block_number)
            .where(GradeFactorRow.chain_id == chain_id)
            .distinct()
            .order_by(GradeFactorRow.block_number)
        )
        with self._reads() as session:
            return list(session.scalars(stmt))


def _row_values(block: BlockRef, value: FactorValue) -> dict[str, Any]:
    if value.block != block:
        raise ValueError(f"factor {value.name} of {value.entity} was computed at {value.block}, not at {block}")
    return {
        "chain_id": block.chain_id,
        "block_number": block.number,
        "entity": value.entity,
        "name": value.name,
        "value": None if value.value is None else check_decimal(value.value),
        "missing_reason": value.missing,
        "inputs_chain_id": None if value.inputs is None else value.inputs.chain_id,
        "inputs_block_number": None if value.inputs is None else value.inputs.number,
        "inputs_clock_block": value.inputs_clock_block,
    }


def _to_value(row: GradeFactorRow, block: Block) -> FactorValue:
    ref = BlockRef(chain_id=block.chain_id, number=block.number, hash=block.hash, timestamp=block.timestamp)
    inputs = None
    if row.inputs_chain_id is not None and row.inputs_block_number is not None:
        inputs = InputBlock(row.inputs_chain_id, row.inputs_block_number)
    return FactorValue(row.entity, row.name, ref, row.value, row.missing_reason, inputs, row.inputs_clock_block)
