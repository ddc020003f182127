"""What the governance devnet tests share: an engine whose event collector has stored a governed run's events,
and the governance view at a block from those stored events (as `defiscope governance proposals` builds it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.governance.load import GovernanceView, governance_view, stored_events
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governors import GovernedProtocol
from defiscope.service.events import EventCollector
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.conftest import make_engine


@asynccontextmanager
async def collected(
    deployment: Deployment, rpc_url: str, repo: Repository, keepers: Sequence[str], to_block: int
) -> AsyncIterator[TvlEngine]:
    """An engine on `rpc_url` after its collector stored the `keepers`' events up to `to_block` in `repo`."""
    engine = make_engine(deployment, rpc_url)
    try:
        collector = EventCollector.of(engine, repo, slugs=list(keepers))
        assert collector is not None
        await collector.collect(to_block, strict=True)
        yield engine
    finally:
        await engine.client.aclose()


async def view_at(
    engine: TvlEngine, repo: Repository, spec: GovernedProtocol, block: int, events: list[StoredEvent] | None = None
) -> GovernanceView:
    """The view at `block`; `events` (the stored ones) may be given by a caller that asks at many blocks."""
    snapshot = await engine.client.snapshot(block)
    kept = stored_events(repo, 1, spec) if events is None else events
    return await governance_view(kept, snapshot.block, engine.deployment, spec, Batcher(snapshot).reader("test"))
