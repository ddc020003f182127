"""SQLAlchemy tables for blocks, TVL snapshots (with their tokens and provenance calls) and prices.

Rows mirror `defiscope.tvl.model` one to one, plus an `ordinal` on child rows so a snapshot comes
back with its tokens and calls in the order it was saved (the dataclasses compare tuples in order).
Constraint names come from a naming convention, so the migration and the metadata agree on every
backend.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from defiscope.protocols.yields import YieldKind
from defiscope.store.types import ExactDecimal, ExactInt, ExactJson
from defiscope.tvl.model import BalanceKind

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
SurrogateId: Final = BigInteger().with_variant(Integer(), "sqlite")

ADDRESS_LEN: Final = 42  # "0x" + 40 hex digits
HASH_LEN: Final = 66  # "0x" + 64 hex digits
SLUG_LEN: Final = 100
SOURCE_LEN: Final = 200

_KINDS: Final = ", ".join(f"'{k.value}'" for k in BalanceKind)


class Base(DeclarativeBase):
    """Declarative base carrying the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Block(Base):
    """A block some stored figure was read at; its hash is what reorg detection compares."""

    __tablename__ = "blocks"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(HASH_LEN))
    timestamp: Mapped[int] = mapped_column(BigInteger)


class TvlSnapshot(Base):
    """One protocol on one chain at one block, with its totals per balance kind.

    The totals are the exact sums of the priced `SnapshotToken.value_usd` of each kind, stored so
    history and rankings need not re-read every token.
    """

    __tablename__ = "tvl_snapshots"
    __table_args__ = (
        UniqueConstraint("slug", "chain_id", "block_number"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        # snapshot_before / history per chain, and history across chains.
        Index(None, "slug", "chain_id", "block_timestamp"),
        Index(None, "slug", "block_timestamp"),
        # rollback_from deletes by (chain, block >= n); also backs the foreign key.
        Index(None, "chain_id", "block_number"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    tvl_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    borrowed_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    staking_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    pool2_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    unpriced_count: Mapped[int] = mapped_column(Integer)
    uncounted_count: Mapped[int] = mapped_column(Integer, server_default="0")  # revision 0009

    tokens: Mapped[list[SnapshotToken]] = relationship(
        order_by="SnapshotToken.ordinal", passive_deletes=True, lazy="raise"
    )
    calls: Mapped[list[ProvenanceCall]] = relationship(
        order_by="ProvenanceCall.ordinal", passive_deletes=True, lazy="raise"
    )
    uncounted: Mapped[list[SnapshotUncounted]] = relationship(
        order_by="SnapshotUncounted.ordinal", passive_deletes=True, lazy="raise"
    )


class SnapshotUncounted(Base):
    """One `NotCounted` of a snapshot (revision 0009): a position left out of its totals, and why.

    `amount` is NULL when it could not be read; the price columns are NULL when the token had none."""

    __tablename__ = "snapshot_uncounted"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "ordinal"),
        CheckConstraint(f"kind IN ({_KINDS})", name="kind"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("tvl_snapshots.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(Text)  # the pool or vault (an address, or a name such as an ilk)
    token: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    symbol: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    amount: Mapped[int | None] = mapped_column(ExactInt)
    decimals: Mapped[int | None] = mapped_column(Integer)
    price_chain_id: Mapped[int | None] = mapped_column(BigInteger)
    price_token: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    price_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    price_source: Mapped[str | None] = mapped_column(String(SOURCE_LEN))
    price_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    price_confidence: Mapped[float | None] = mapped_column(Double)
    price_block_number: Mapped[int | None] = mapped_column(BigInteger)
    price_liquidity_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    value_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class SnapshotToken(Base):
    """One `TokenValue` of a snapshot, with the price it was valued at inlined.

    The price is copied, not referenced, so a snapshot stays explainable even after the prices
    table is pruned or re-fetched.
    """

    __tablename__ = "snapshot_tokens"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "ordinal"),
        CheckConstraint(f"kind IN ({_KINDS})", name="kind"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("tvl_snapshots.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    symbol: Mapped[str] = mapped_column(Text)
    decimals: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(ExactInt)
    # The PriceQuote, all columns NULL when the token had none.
    price_chain_id: Mapped[int | None] = mapped_column(BigInteger)
    price_token: Mapped[str | None] = mapped_column(String(ADDRESS_LEN))
    price_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    price_source: Mapped[str | None] = mapped_column(String(SOURCE_LEN))
    price_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    price_confidence: Mapped[float | None] = mapped_column(Double)
    price_block_number: Mapped[int | None] = mapped_column(BigInteger)
    price_liquidity_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)  # revision 0002
    value_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    unpriced_reason: Mapped[str | None] = mapped_column(Text)
    receipt_of: Mapped[str | None] = mapped_column(String(SLUG_LEN))


class ProvenanceCall(Base):
    """One contract call the adapter made for a snapshot, in call order."""

    __tablename__ = "provenance_calls"
    __table_args__ = (UniqueConstraint("snapshot_id", "ordinal"),)

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("tvl_snapshots.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    function: Mapped[str] = mapped_column(Text)
    # A call whose decoded result is None stores JSON null, not SQL NULL.
    args: Mapped[Any] = mapped_column(ExactJson)
    result: Mapped[Any] = mapped_column(ExactJson)
    success: Mapped[bool] = mapped_column(Boolean)
    #: The block the call was pinned to: the snapshot's, or an older one for a `Reader.at` read.
    block_number: Mapped[int] = mapped_column(BigInteger)


class Price(Base):
    """One `PriceQuote`; a source quotes a token at most once per timestamp."""

    __tablename__ = "prices"
    __table_args__ = (
        UniqueConstraint("chain_id", "token", "source", "timestamp"),
        # "price of token at or before t" across sources.
        Index(None, "chain_id", "token", "timestamp"),
        # rollback_from drops prices read at orphaned blocks.
        Index(None, "chain_id", "block_number"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    source: Mapped[str] = mapped_column(String(SOURCE_LEN))
    confidence: Mapped[float] = mapped_column(Double)
    #: DEX-derived quotes only: USD depth of the pool's core-asset side (revision 0002).
    liquidity_usd: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class ApiKey(Base):
    """An API key of the HTTP API (revision 0003_api_keys): only its SHA-256 is stored, never the key."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("name"),)

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the public part, shown in lists
    name: Mapped[str] = mapped_column(String(SLUG_LEN))
    sha256: Mapped[str] = mapped_column(String(64))  # hex digest of the whole key
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)


class ProtocolEventRow(Base):
    """One event a protocol asked to keep (`protocols.events.StoredEvent`), revision 0010: oracle reports and the
    like, any protocol, any kind. Revision 0004's rebase_reports became the rows of kind "token_rebased".

    Keyed by (chain, protocol, kind, key): saving an event again leaves the stored row. ``log_index`` and
    ``tx_hash`` are NULL only on rows migrated from 0004, which did not record them.
    """

    __tablename__ = "protocol_events"
    __table_args__ = (
        UniqueConstraint("chain_id", "slug", "kind", "key"),
        # Serves reading a (chain, protocol, kind) series in chain order.
        Index(None, "chain_id", "slug", "kind", "block_number"),
        # rollback_from drops events read from orphaned blocks.
        Index(None, "chain_id", "block_number"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    kind: Mapped[str] = mapped_column(String(SLUG_LEN))
    key: Mapped[str] = mapped_column(String(SOURCE_LEN))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    log_index: Mapped[int | None] = mapped_column(Integer)
    tx_hash: Mapped[str | None] = mapped_column(String(HASH_LEN))
    payload: Mapped[Any] = mapped_column(ExactJson)


class YieldRow(Base):
    """One rate of one market at one block (revisions 0005, 0006, 0024): `protocols.yields.Yield` with its block.

    Keyed by (chain, block, protocol, market, asset, kind); re-saving a block's yields replaces them.
    """

    __tablename__ = "yields"
    __table_args__ = (
        # Also serves rollback_from (chain, block >= n) and the newest block per (chain, protocol).
        UniqueConstraint("chain_id", "block_number", "slug", "market", "asset", "kind"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        # Every `YieldKind` (revision 0006 added lp_fee); a kind the migrations lack fails test_store_yields.
        CheckConstraint(f"kind IN ({', '.join(repr(k.value) for k in YieldKind)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    market: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    asset: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    symbol: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    apr: Mapped[Decimal] = mapped_column(ExactDecimal)
    apy: Mapped[Decimal] = mapped_column(ExactDecimal)
    method: Mapped[str] = mapped_column(Text)
    #: Revision 0024: the protocol's share of the fees this rate pays, "numerator/denominator" (exact), and its
    #: knob and raw value; share NULL with a source: the knob's read failed, and why. Both NULL: no knob.
    fee_share: Mapped[str | None] = mapped_column(Text)
    fee_share_source: Mapped[str | None] = mapped_column(Text)


class YieldGapRow(Base):
    """A rate that could not be read at one block, and why (revision 0007): `protocols.yields.YieldGap`.

    Saved and replaced with the block's yields; market "*" when no rate of the protocol could be read. The
    newest block per (chain, protocol) counts it as having yields, so an older block's rate is not served
    in its place.
    """

    __tablename__ = "yield_gaps"
    __table_args__ = (
        # Serves replacing a block's gaps, rollback_from (chain, block >= n) and the newest block per protocol.
        Index(None, "chain_id", "block_number", "slug"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        CheckConstraint(f"kind IS NULL OR kind IN ({', '.join(repr(k.value) for k in YieldKind)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    market: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    asset: Mapped[str] = mapped_column(String(ADDRESS_LEN))
    symbol: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)


class DiscoveryLog(Base):
    """One raw `eth_getLogs` entry a `LogCursor` found (revision 0008): re-parsed by the cursor at load.

    Keyed by (chain, source, block, log index): saving a log twice (two cursors sharing a source) keeps one.
    """

    __tablename__ = "discovery_logs"
    __table_args__ = (
        # rollback_from deletes by (chain, block >= n).
        Index(None, "chain_id", "block_number"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_LEN), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    raw: Mapped[Any] = mapped_column(ExactJson)  # the log as eth_getLogs returned it


class DiscoveryCursor(Base):
    """How far a `LogCursor`'s source is scanned on a chain (revision 0008): its logs up to here are stored."""

    __tablename__ = "discovery_cursors"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_LEN), primary_key=True)
    scanned_to: Mapped[int] = mapped_column(BigInteger)
    scanned_hash: Mapped[str | None] = mapped_column(String(HASH_LEN))  # NULL: a chunk's end, or after a rollback


class AlertRuleRow(Base):
    """A monitoring rule (revision 0011): what to watch (`kind`, `params` as the API validated them), on which
    chain, how confirmed, where alerts go, owned by one API key.

    `confirmations` is "finalized" or a number of blocks as text ("0" = latest). `webhook_secret` is kept in
    clear: the delivery worker signs with it (Standard Webhooks); the API shows it once, at creation.
    """

    __tablename__ = "alert_rules"
    __table_args__ = (Index(None, "owner_key_id"), Index(None, "chain_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.key_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[Any] = mapped_column(ExactJson)
    confirmations: Mapped[str] = mapped_column(String(16))
    cooldown_blocks: Mapped[int] = mapped_column(BigInteger)
    channels: Mapped[Any] = mapped_column(ExactJson)  # [{"type": "webhook" | "email", "target": ...}]
    webhook_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    #: Bumped by every write of any rule's row (max over the table): the evaluator reloads its rules on change.
    revision: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    """One alert (revision 0011): a rule's condition became true at a block (`firing`), stopped being true at a
    later block (`resolved`), or its block was reorged away (`retracted`).

    `subject` tells apart several alerts of one rule at once (a new protocol's slug, a proposal); "" otherwise.
    Values are exact decimal strings, as the webhook body carries them. Not tied to `blocks` by a foreign key:
    a retracted alert outlives its block.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("state IN ('firing', 'resolved', 'retracted')", name="state"),
        # The open alert of a (rule, chain, subject) and its last firing (the cool-down).
        Index(None, "rule_id", "chain_id", "subject", "block_number"),
        # Rollback: alerts fired or resolved at orphaned blocks.
        Index(None, "chain_id", "block_number"),
        Index(None, "chain_id", "resolved_block_number"),
        Index(None, "evidence_id"),  # a shared evidence row's alerts (deleting the unreferenced ones)
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(SOURCE_LEN))
    state: Mapped[str] = mapped_column(String(16))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH_LEN))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[str | None] = mapped_column(Text)
    previous: Mapped[str | None] = mapped_column(Text)
    threshold: Mapped[str | None] = mapped_column(Text)
    #: The alert's own evidence; the entry named by its shared evidence (revision 0017) holds null here.
    evidence: Mapped[Any] = mapped_column(ExactJson)
    resolved_block_number: Mapped[int | None] = mapped_column(BigInteger)
    resolved_block_hash: Mapped[str | None] = mapped_column(String(HASH_LEN))
    resolved_block_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    resolved_value: Mapped[str | None] = mapped_column(Text)
    evidence_id: Mapped[str | None] = mapped_column(ForeignKey("alert_evidence.id"))


class AlertEvidenceRow(Base):
    """One evidence entry shared by the alerts of one block (revision 0017): a protocol's snapshot detail (its
    priced tokens and calls, ~4 KB) is the same for every rule watching that protocol, so it is stored once and
    each alert refers to it. The alert row keeps only its own small evidence and its state, so resolving or
    retracting an alert rewrites a small row. Kept as long as its alerts (a retracted alert keeps its evidence).
    """

    __tablename__ = "alert_evidence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64))  # the evidence entry it fills ("snapshot_detail")
    body: Mapped[Any] = mapped_column(ExactJson)


class GradeFactorRow(Base):
    """One factor of one graded entity computed at one block of the clock chain (revision 0015): its value, or
    NULL and why it could not be computed, and the newest block any of its inputs came from (on any chain, and
    its counterpart on the clock chain).

    Keyed by (chain, block, entity, factor): computing a block again replaces its rows; a reorg rollback drops
    them with their block.
    """

    __tablename__ = "grade_factors"
    __table_args__ = (
        # Also serves rollback_from (chain, block >= n) and reading a block's factors back.
        UniqueConstraint("chain_id", "block_number", "entity", "name"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        # A factor has a value or a reason, never both, never neither.
        CheckConstraint("(value IS NULL) <> (missing_reason IS NULL)", name="value_or_reason"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(SLUG_LEN))
    name: Mapped[str] = mapped_column(String(SLUG_LEN))
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    missing_reason: Mapped[str | None] = mapped_column(Text)
    inputs_chain_id: Mapped[int | None] = mapped_column(BigInteger)
    inputs_block_number: Mapped[int | None] = mapped_column(BigInteger)
    #: The same input on the clock's chain: the newest clock-chain block at or before its time (for grades).
    inputs_clock_block: Mapped[int | None] = mapped_column(BigInteger)


class GradePublicationRow(Base):
    """The grades document published at one block of the clock chain (revision 0016), kept verbatim as JSON text:
    what `grades --at-block` returns, however much is indexed later. One per block; publishing again replaces it."""

    __tablename__ = "grade_publications"
    __table_args__ = (
        UniqueConstraint("chain_id", "block_number"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    formula_version: Mapped[str] = mapped_column(String(SLUG_LEN))
    document: Mapped[str] = mapped_column(Text)


class GradeSignalRow(Base):
    """A signal published at a block (revision 0016): an entity's trader or investor state changed there.
    `document` is the published signal (JSON text, verbatim); `state` is kept apart to find the latest state."""

    __tablename__ = "grade_signals"
    __table_args__ = (
        UniqueConstraint("chain_id", "block_number", "entity", "horizon"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        Index(None, "entity", "block_number"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(SLUG_LEN))
    horizon: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    document: Mapped[str] = mapped_column(Text)


class SignalPassRow(Base):
    """The signal rules of one confirmation depth judged the publication at a block (revision 0021): under workers
    that pass is a job (`service.jobs.compute`), and the newest row is where the next one continues."""

    __tablename__ = "signal_passes"
    __table_args__ = (
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    depth: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class GradePassRow(Base):
    """A block of the clock chain the follow job told the grades publisher of under workers (revision 0025), and
    whether a grades job has judged it yet (published there, found it not due, or gave up after failed tries).
    Jobs judge the told blocks in block order, after the newest judged one (`service.jobs.compute`), whatever
    order they run in."""

    __tablename__ = "grade_passes"
    __table_args__ = (
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    formula_version: Mapped[str] = mapped_column(String(SLUG_LEN), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    judged: Mapped[bool] = mapped_column(Boolean)
    failures: Mapped[int] = mapped_column(Integer)  # tries at publishing that failed (the last one's reason below)
    error: Mapped[str | None] = mapped_column(Text)


class IndexValueRow(Base):
    """One index's live figures at one stored block (revision 0018): its level and the two benchmarks' (from the
    index's base value), its raw holdings by symbol, whether it rebalanced there; or NULL and why there is no level
    (not built yet, a held token unpriced).

    Keyed by (index, chain, block): tracking a block again replaces its row; a reorg rollback drops it with its
    block.
    """

    __tablename__ = "index_values"
    __table_args__ = (
        UniqueConstraint("index_id", "chain_id", "block_number"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        Index(None, "chain_id", "block_number"),  # rollback_from: (chain, block >= n) over every index
        CheckConstraint("(value IS NULL) <> (missing_reason IS NULL)", name="value_or_reason"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    index_id: Mapped[str] = mapped_column(String(SLUG_LEN))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    equal_weight: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    weth: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    holdings: Mapped[Any] = mapped_column(ExactJson)  # symbol -> raw amount (a decimal string)
    weights: Mapped[Any] = mapped_column(ExactJson)  # symbol -> share of the value at the block (a decimal string)
    rebalanced: Mapped[bool] = mapped_column(Boolean)
    missing_reason: Mapped[str | None] = mapped_column(Text)
    # revision 0022: at a rebalance, what the run carries on (holdings, benchmarks' units, the last rebalance), so
    # a restarted tracker resumes from here; null on other rows (and on rebalances stored before 0022)
    run_state: Mapped[Any | None] = mapped_column(ExactJson, nullable=True)


class RiskScoreRow(Base):
    """A protocol's risk score on one chain at one stored block (revision 0019): the composite, the score with every
    pillar's rule and inputs (what the next score is compared with), and the profile document as served. One per
    (protocol, chain, block); scoring a block again replaces it; a reorg rollback drops it with its block."""

    __tablename__ = "risk_scores"
    __table_args__ = (
        UniqueConstraint("slug", "chain_id", "block_number"),
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        Index(None, "chain_id", "block_number"),  # rollback_from: (chain, block >= n) over every protocol
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    formula_version: Mapped[str] = mapped_column(String(SLUG_LEN))
    composite: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[Any] = mapped_column(ExactJson)  # `analytics.risk.score.score_json`
    profile: Mapped[Any] = mapped_column(ExactJson)  # the profile document without its changes


class RiskChangeRow(Base):
    """One score that moved at a stored block (revision 0019): a pillar's or the composite, with the input that
    changed, the rule that set the new score, and the scores before and after (NULL: not scored)."""

    __tablename__ = "risk_score_changes"
    __table_args__ = (
        ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        Index(None, "slug", "chain_id", "block_number"),
        Index(None, "chain_id", "block_number"),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(SLUG_LEN))  # a pillar's name or "composite"
    input: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(SOURCE_LEN))
    before: Mapped[int | None] = mapped_column(Integer)
    after: Mapped[int | None] = mapped_column(Integer)
