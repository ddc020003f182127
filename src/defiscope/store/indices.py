"""Index values in the store (revision 0018): each index's level, benchmarks and holdings per stored block; at a
rebalance, the run state a restarted tracker resumes from (revision 0022).

    >>> import tempfile
    >>> from decimal import Decimal
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/indices.db")  # doctest: +ELLIPSIS
    2...
    >>> block = BlockRef(chain_id=1, number=7, hash="0x" + "ab" * 32, timestamp=1_700_000_000)
    >>> repo.save_yields(block, [], protocols=["aave-v3"])  # any write stores the block: values need it
    0
    >>> store = IndexValueStore(repo.engine)
    >>> level = Decimal(100)
    >>> store.save("defi-tvl", 1, [IndexValue(7, level, level, level, {"UNI": 5}, {"UNI": Decimal(1)}, True)])
    1
    >>> [(v.block.number, v.value, v.holdings) for v in store.history("defi-tvl", 1)]
    [(7, Decimal('100'), {'UNI': 5})]

Saving a block again replaces its row (tracking is idempotent); `Repository.rollback_from` drops the rows of
orphaned blocks with the blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Engine, Select, delete, func, insert, select
from sqlalchemy.orm import sessionmaker

from defiscope.chain.block import BlockRef
from defiscope.store.database import WRITE_OPTION
from defiscope.store.errors import StoreError
from defiscope.store.models import Block, IndexValueRow
from defiscope.store.types import check_decimal

_NO_SYNC: Final = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class IndexValue:
    """An index at one block: its level and the benchmarks' (None when unknown there), its raw holdings by
    symbol, whether it rebalanced at this block, and why there is no level (`missing`) when there is none."""

    block_number: int
    value: Decimal | None
    equal_weight: Decimal | None
    weth: Decimal | None
    holdings: Mapping[str, int] = field(default_factory=dict)
    weights: Mapping[str, Decimal] = field(default_factory=dict)
    rebalanced: bool = False
    missing: str | None = None
    run_state: Mapping[str, Any] | None = None  # what a tracker resumes from (JSON), kept at rebalances

    def __post_init__(self) -> None:
        if (self.value is None) == (self.missing is None):
            raise ValueError(f"index value at block {self.block_number}: give a value or the reason it is missing")


@dataclass(frozen=True, slots=True)
class StoredIndexValue:
    """An `IndexValue` read back with its stored block (hash and timestamp)."""

    block: BlockRef
    value: Decimal | None
    equal_weight: Decimal | None
    weth: Decimal | None
    holdings: dict[str, int]
    weights: dict[str, Decimal]
    rebalanced: bool
    missing: str | None
    run_state: dict[str, Any] | None = None


class UnstoredBlock(StoreError):
    """Index values were offered for blocks the store does not hold (not indexed, or rolled back)."""


class IndexValueStore:
    """The `index_values` table over one migrated Engine."""

    __slots__ = ("_reads", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    def save(self, index_id: str, chain_id: int, values: Sequence[IndexValue]) -> int:
        """Store `values` of one index on one chain, replacing the rows of those blocks; returns rows written.

        Every block must be stored (`UnstoredBlock` otherwise, nothing written): a value follows its block."""
        if not values:
            return 0
        numbers = [v.block_number for v in values]
        with self._writes.begin() as session:
            stored = set(
                session.scalars(select(Block.number).where(Block.chain_id == chain_id, Block.number.in_(numbers)))
            )
            if missing := sorted(set(numbers) - stored):
                raise UnstoredBlock(f"chain {chain_id} has no stored block {missing[0]} for index {index_id}")
            session.execute(
                delete(IndexValueRow).where(
                    IndexValueRow.index_id == index_id,
                    IndexValueRow.chain_id == chain_id,
                    IndexValueRow.block_number.in_(numbers),
                ),
                execution_options=_NO_SYNC,
            )
            session.execute(insert(IndexValueRow), [_row(index_id, chain_id, v) for v in values])
        return len(values)

    def history(
        self,
        index_id: str,
        chain_id: int,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        limit: int | None = None,
    ) -> list[StoredIndexValue]:
        """The stored values in the range, oldest first (the newest `limit` of them when a limit is given)."""
        stmt = self._joined(index_id, chain_id)
        if from_block is not None:
            stmt = stmt.where(IndexValueRow.block_number >= from_block)
        if to_block is not None:
            stmt = stmt.where(IndexValueRow.block_number <= to_block)
        stmt = stmt.order_by(IndexValueRow.block_number.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reads() as session:
            return [_value(row, block) for row, block in reversed(session.execute(stmt).all())]

    def at_or_before(self, index_id: str, chain_id: int, block: int | None = None) -> StoredIndexValue | None:
        """The newest stored value at or before `block` (default: the newest of all); None when there is none."""
        found = self.history(index_id, chain_id, to_block=block, limit=1)
        return found[0] if found else None

    def last_rebalance_state(
        self, index_id: str, chain_id: int, block: int
    ) -> tuple[int, dict[str, Any] | None] | None:
        """The newest rebalance at or before `block`: its block and the run state kept there (None when it was
        stored before revision 0022 kept states); None when there is no rebalance (the index was not built)."""
        stmt = (
            select(IndexValueRow.block_number, IndexValueRow.run_state)
            .where(
                IndexValueRow.index_id == index_id,
                IndexValueRow.chain_id == chain_id,
                IndexValueRow.block_number <= block,
                IndexValueRow.rebalanced.is_(True),
            )
            .order_by(IndexValueRow.block_number.desc())
            .limit(1)
        )
        with self._reads() as session:
            found = session.execute(stmt).one_or_none()
        return None if found is None else (int(found[0]), found[1])

    def last_block(self, index_id: str, chain_id: int) -> int | None:
        stmt = select(func.max(IndexValueRow.block_number)).where(
            IndexValueRow.index_id == index_id, IndexValueRow.chain_id == chain_id
        )
        with self._reads() as session:
            return session.scalar(stmt)

    @staticmethod
    def _joined(index_id: str, chain_id: int) -> Select[IndexValueRow, Block]:
        return (
            select(IndexValueRow, Block)
            .join(Block, (Block.chain_id == IndexValueRow.chain_id) & (Block.number == IndexValueRow.block_number))
            .where(IndexValueRow.index_id == index_id, IndexValueRow.chain_id == chain_id)
        )


def _row(index_id: str, chain_id: int, value: IndexValue) -> dict[str, Any]:
    def exact(figure: Decimal | None) -> Decimal | None:
        return None if figure is None else check_decimal(figure)

    return {
        "index_id": index_id,
        "chain_id": chain_id,
        "block_number": value.block_number,
        "value": exact(value.value),
        "equal_weight": exact(value.equal_weight),
        "weth": exact(value.weth),
        "holdings": {symbol: str(amount) for symbol, amount in sorted(value.holdings.items())},
        "weights": {symbol: str(check_decimal(share)) for symbol, share in sorted(value.weights.items())},
        "rebalanced": value.rebalanced,
        "missing_reason": value.missing,
        "run_state": None if value.run_state is None else dict(value.run_state),
    }


def _value(row: IndexValueRow, block: Block) -> StoredIndexValue:
    ref = BlockRef(chain_id=block.chain_id, number=block.number, hash=block.hash, timestamp=block.timestamp)
    holdings = {symbol: int(amount) for symbol, amount in (row.holdings or {}).items()}
    weights = {symbol: Decimal(share) for symbol, share in (row.weights or {}).items()}
    return StoredIndexValue(
        ref, row.value, row.equal_weight, row.weth, holdings, weights, row.rebalanced, row.missing_reason, row.run_state
    )
