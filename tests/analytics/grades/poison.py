"""Poison every stored row after a clock block, in every table factors read, to prove they read none of it.

Two ways, both: rows already stored after the clock get absurd values (prices, TVL and token values 1e30, rates
999), and new rows are added after it with absurd values: a block on the clock's chain one number later
with the same timestamp (only the block number tells it apart), and a block on every other chain one second
after the clock's time, each with snapshots of every graded adapter, yields, quotes of every token, a
delegation of all voting power to one delegate and a risk score of 0 for every graded adapter.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from sqlalchemy import ColumnElement, and_, or_, select, tuple_, update
from sqlalchemy.orm import Session

from defiscope.analytics.grades.catalog import GRADED
from defiscope.analytics.grades.market import TokenRef
from defiscope.chain.block import BlockRef
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import DELEGATE_VOTES_KIND
from defiscope.protocols.governors import GOVERNORS
from defiscope.protocols.yields import Yield, YieldKind
from defiscope.store import Repository
from defiscope.store.models import Block, Price, ProtocolEventRow, RiskScoreRow, SnapshotToken, TvlSnapshot, YieldRow
from defiscope.store.risk import RiskStore, ScoredBlock
from defiscope.tvl.model import BalanceKind, PriceQuote, ProtocolSnapshot, TokenValue

ABSURD: Final = Decimal("1e30")
ABSURD_RATE: Final = Decimal(999)
DAI: Final = "0x6B175474E89094C44Da98b954EedeAC495271d0F"


def poison_after(repo: Repository, clock: BlockRef, tokens: dict[str, TokenRef]) -> list[BlockRef]:
    """Poison everything after `clock`; returns the blocks added (the clock chain's first)."""
    _spoil_stored(repo, clock)
    added = _later_blocks(repo, clock)
    for block in added:
        _add_rows(repo, block, tokens)
    return added


def _after(table: type[TvlSnapshot] | type[YieldRow], clock: BlockRef) -> ColumnElement[bool]:
    return or_(
        and_(table.chain_id == clock.chain_id, table.block_number > clock.number),
        and_(table.chain_id != clock.chain_id, table.block_timestamp > clock.timestamp),
    )


def _spoil_stored(repo: Repository, clock: BlockRef) -> None:
    with Session(repo.engine) as session, session.begin():
        later_blocks = select(Block.chain_id, Block.number).where(
            or_(
                and_(Block.chain_id == clock.chain_id, Block.number > clock.number),
                and_(Block.chain_id != clock.chain_id, Block.timestamp > clock.timestamp),
            )
        )
        later_scores = tuple_(RiskScoreRow.chain_id, RiskScoreRow.block_number).in_(later_blocks)
        session.execute(update(RiskScoreRow).where(later_scores).values(composite=0))
        later = select(TvlSnapshot.id).where(_after(TvlSnapshot, clock))
        session.execute(update(SnapshotToken).where(SnapshotToken.snapshot_id.in_(later)).values(value_usd=ABSURD))
        session.execute(
            update(TvlSnapshot).where(_after(TvlSnapshot, clock)).values(tvl_usd=ABSURD, borrowed_usd=ABSURD)
        )
        session.execute(update(YieldRow).where(_after(YieldRow, clock)).values(apr=ABSURD_RATE, apy=ABSURD_RATE))
        session.execute(
            update(Price)
            .where(
                or_(
                    Price.timestamp > clock.timestamp,
                    and_(Price.chain_id == clock.chain_id, Price.block_number > clock.number),
                )
            )
            .values(usd=ABSURD)
        )


def _later_blocks(repo: Repository, clock: BlockRef) -> list[BlockRef]:
    with Session(repo.engine) as session:
        tops = session.execute(select(Block.chain_id, Block.number).order_by(Block.chain_id, Block.number)).all()
    newest = {chain: number for chain, number in tops}
    added = [BlockRef(clock.chain_id, newest[clock.chain_id] + 1, _hash(clock.chain_id, 1), clock.timestamp)]
    for chain in sorted(c for c in newest if c != clock.chain_id):
        added.append(BlockRef(chain, newest[chain] + 1, _hash(chain, 1), clock.timestamp + 1))
    if added[0].number == clock.number + 1:
        return added
    # The clock is not the newest block: the new block on its chain goes after the newest, with a later time.
    first = added[0]
    added[0] = BlockRef(first.chain_id, first.number, first.hash, clock.timestamp + 1)
    return added


def _hash(chain_id: int, salt: int) -> str:
    return "0x" + f"{chain_id:08x}{salt:08x}".rjust(64, "f")


def _add_rows(repo: Repository, block: BlockRef, tokens: dict[str, TokenRef]) -> None:
    slugs = sorted({slug for entity in GRADED.values() for slug in entity.members})
    held = [t for t in tokens.values() if t.chain_id == block.chain_id]
    snapshots = [
        ProtocolSnapshot(
            slug,
            block.chain_id,
            block,
            tuple(
                TokenValue(address, "X", 18, kind, 10**40, None, ABSURD)
                for address in (DAI, *(t.address for t in held))
                for kind in (BalanceKind.TVL, BalanceKind.BORROWED)
            ),
        )
        for slug in slugs
    ]
    repo.save_snapshots(snapshots)
    rates = [
        Yield(slug, DAI, DAI, "DAI", kind, ABSURD_RATE, ABSURD_RATE, "poison") for slug in slugs for kind in YieldKind
    ]
    repo.save_yields(block, rates)
    repo.save_prices(
        PriceQuote(t.chain_id, t.address, ABSURD, source, block.timestamp, 1.0, number)
        for t in held
        for source, number in (("poison-dex", block.number), ("poison-offchain", None))
    )
    for spec in GOVERNORS.values():
        whale = StoredEvent(
            DELEGATE_VOTES_KIND,
            block.number,
            block.hash,
            0,
            "0x" + "ee" * 32,
            {"delegate": "0x" + "ee" * 20, "previous_votes": 0, "votes": 10**40},
            f"poison-{block.number}",
        )
        repo.save_events(block.chain_id, spec.keeper, [whale])
    risk = RiskStore(repo.engine)
    for slug in slugs:
        risk.save(ScoredBlock(slug, block.chain_id, block.number, "poison", 0, {}, {}), [])


def event_rows_after(repo: Repository, clock: BlockRef) -> int:
    """Events stored after the clock on its chain (the poison's own included)."""
    with Session(repo.engine) as session:
        rows = session.scalars(
            select(ProtocolEventRow.id).where(
                ProtocolEventRow.chain_id == clock.chain_id, ProtocolEventRow.block_number > clock.number
            )
        )
        return len(list(rows))
