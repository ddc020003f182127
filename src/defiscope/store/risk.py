"""Risk scores in the store (revision 0019): each scored block's score and profile, and every score change.

    >>> import tempfile
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/risk.db")  # doctest: +ELLIPSIS
    2...
    >>> block = BlockRef(chain_id=1, number=7, hash="0x" + "ab" * 32, timestamp=1_700_000_000)
    >>> repo.save_yields(block, [], protocols=["aave-v3"])  # any write stores the block: scores need it
    0
    >>> store = RiskStore(repo.engine)
    >>> first = RiskChange("composite", "first score", "composite.weighted-mean", None, 64)
    >>> store.save(ScoredBlock("aave-v3", 1, 7, "risk-1", 64, {"composite": 64}, {"slug": "aave-v3"}), [first])
    >>> store.latest("aave-v3", 1).composite, [(c.block, c.change.after) for c in store.changes("aave-v3", 1)]
    (64, [(7, 64)])

Scoring a block again replaces its score and its changes; `Repository.rollback_from` drops both with the blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import sessionmaker

from defiscope.chain.block import BlockRef
from defiscope.store.database import WRITE_OPTION
from defiscope.store.errors import StoreError
from defiscope.store.models import Block, RiskChangeRow, RiskScoreRow


@dataclass(frozen=True, slots=True)
class ScoredBlock:
    """A protocol's score at one block: the composite (None: nothing scored), the score and the profile documents."""

    slug: str
    chain_id: int
    block_number: int
    formula_version: str
    composite: int | None
    score: dict[str, Any]
    profile: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RiskChange:
    subject: str  # a pillar's name or "composite"
    input: str
    rule: str
    before: int | None
    after: int | None


@dataclass(frozen=True, slots=True)
class StoredChange:
    block: int
    change: RiskChange


@dataclass(frozen=True, slots=True)
class StoredScore:
    block: BlockRef
    formula_version: str
    composite: int | None
    score: dict[str, Any]
    profile: dict[str, Any]


class UnstoredRiskBlock(StoreError):
    """A score was offered for a block the store does not hold (not indexed, or rolled back)."""


class RiskStore:
    """The `risk_scores` and `risk_score_changes` tables over one migrated Engine."""

    __slots__ = ("_reads", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    def save(self, scored: ScoredBlock, changes: Sequence[RiskChange]) -> None:
        """Store the score at its block with its changes, replacing what that block had; the block must be stored."""
        key = (scored.slug, scored.chain_id, scored.block_number)
        with self._writes.begin() as session:
            known = session.get(Block, (scored.chain_id, scored.block_number))
            if known is None:
                raise UnstoredRiskBlock(f"chain {scored.chain_id} has no stored block {scored.block_number}")
            for table in (RiskScoreRow, RiskChangeRow):
                session.execute(
                    delete(table).where(table.slug == key[0], table.chain_id == key[1], table.block_number == key[2]),
                    execution_options={"synchronize_session": False},
                )
            session.execute(
                insert(RiskScoreRow),
                [
                    {
                        "slug": scored.slug,
                        "chain_id": scored.chain_id,
                        "block_number": scored.block_number,
                        "formula_version": scored.formula_version,
                        "composite": scored.composite,
                        "score": scored.score,
                        "profile": scored.profile,
                    }
                ],
            )
            if changes:
                rows = [
                    {"slug": key[0], "chain_id": key[1], "block_number": key[2], **_change_columns(c)} for c in changes
                ]
                session.execute(insert(RiskChangeRow), rows)

    def latest(self, slug: str, chain_id: int, at_or_before: int | None = None) -> StoredScore | None:
        """The newest score at or before ``at_or_before`` (default: the newest of all); None when none is stored."""
        stmt = (
            select(RiskScoreRow, Block)
            .join(Block, (Block.chain_id == RiskScoreRow.chain_id) & (Block.number == RiskScoreRow.block_number))
            .where(RiskScoreRow.slug == slug, RiskScoreRow.chain_id == chain_id)
        )
        if at_or_before is not None:
            stmt = stmt.where(RiskScoreRow.block_number <= at_or_before)
        with self._reads() as session:
            found = session.execute(stmt.order_by(RiskScoreRow.block_number.desc()).limit(1)).first()
        if found is None:
            return None
        row, block = found
        ref = BlockRef(chain_id=block.chain_id, number=block.number, hash=block.hash, timestamp=block.timestamp)
        return StoredScore(ref, row.formula_version, row.composite, row.score, row.profile)

    def changes(self, slug: str, chain_id: int, *, limit: int | None = None) -> list[StoredChange]:
        """The stored changes, oldest first (the newest ``limit`` of them when a limit is given)."""
        stmt = (
            select(RiskChangeRow)
            .where(RiskChangeRow.slug == slug, RiskChangeRow.chain_id == chain_id)
            .order_by(RiskChangeRow.block_number.desc(), RiskChangeRow.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reads() as session:
            rows = list(session.scalars(stmt))
        return [
            StoredChange(r.block_number, RiskChange(r.subject, r.input, r.rule, r.before, r.after))
            for r in reversed(rows)
        ]

    def latest_time(self, chain_id: int, at_or_before: int) -> int | None:
        """Block time of the chain's newest score (any protocol) at or before a block; None when there is none."""
        stmt = (
            select(func.max(Block.timestamp))
            .join(RiskScoreRow, (Block.chain_id == RiskScoreRow.chain_id) & (Block.number == RiskScoreRow.block_number))
            .where(RiskScoreRow.chain_id == chain_id, RiskScoreRow.block_number <= at_or_before)
        )
        with self._reads() as session:
            return session.scalar(stmt)

    def scored_slugs(self, chain_id: int) -> list[str]:
        with self._reads() as session:
            found = session.scalars(select(RiskScoreRow.slug).where(RiskScoreRow.chain_id == chain_id).distinct())
            return sorted(found)


def _change_columns(change: RiskChange) -> dict[str, Any]:
    return {
        "subject": change.subject,
        "input": change.input,
        "rule": change.rule,
        "before": change.before,
        "after": change.after,
    }
