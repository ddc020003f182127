"""The indices' BlockHook over thirty synthetic days: a catch-up runs in bounded steps on the hook's thread and
stores every block; the status says why an index is not built; after `stop` no block starts tracking."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest

from defiscope.analytics.indices import hooks
from defiscope.analytics.indices.history import Listing, StoreHistory, listings_for
from defiscope.analytics.indices.hooks import IndexHook
from defiscope.analytics.indices.live import IndexTracker
from defiscope.analytics.indices.loader import load_definitions, parse_definition
from defiscope.analytics.indices.venue import FixedFeeVenue
from defiscope.chain.block import BlockRef
from defiscope.deployments.mainnet import mainnet
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore
from tests.cli.test_indices import synthetic_store  # noqa: F401  (fixture reused)
from tests.cli.test_indices_plots import YOUNG


@dataclass(frozen=True, slots=True)
class Stored:
    """What the indexer hands a hook, as far as this one reads it."""

    block: BlockRef


def tracker_of(repo: Repository, source: str) -> IndexTracker:
    deployment = mainnet(1)
    definition = load_definitions()[source] if source in load_definitions() else parse_definition(source)
    weth = deployment.tokens["WETH"]
    hub = Listing("WETH", "Hub", (), weth.address, weth.decimals)
    listings = listings_for(deployment, definition)

    def opened(first: int | None, last: int | None) -> StoreHistory:
        return StoreHistory.load(repo, deployment, listings, first, last, None, extra=[hub])

    decimals = {s: t.decimals for s, t in deployment.tokens.items()}
    values = IndexValueStore(repo.engine)
    return IndexTracker(definition, 1, opened, FixedFeeVenue(Fraction(3, 1000)), decimals, values)


async def test_a_catch_up_stores_every_block_in_bounded_steps(
    synthetic_store: Repository,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hooks, "CATCH_UP_BLOCKS", 7)  # thirty blocks: five runs
    young, tvl = tracker_of(synthetic_store, YOUNG), tracker_of(synthetic_store, "defi-tvl")
    calls: list[int | None] = []
    advance = young.advance

    def counted(head: int, max_blocks: int | None = None) -> object:
        calls.append(max_blocks)
        return advance(head, max_blocks)

    monkeypatch.setattr(young, "advance", counted)
    hook = IndexHook({1: [young, tvl]})
    span = synthetic_store.block_span(1)
    assert span is not None
    head = synthetic_store.blocks_between(1, span[1], span[1])[0]
    try:
        await hook.block_indexed(None, Stored(head))  # type: ignore[arg-type]
        await hook.idle()
        values = IndexValueStore(synthetic_store.engine)
        assert len(values.history("young-tvl", 1)) == 30
        assert calls == [7] * 5
        assert all(v.value is not None for v in values.history("young-tvl", 1))
        statuses = {s.index: s for s in hook.statuses()}
        assert statuses["young-tvl"].state == "tracking"
        assert statuses["defi-tvl"].state == "not built"
        assert "min_age_days" in (statuses["defi-tvl"].reason or "")
        hook.stop()
        await hook.block_indexed(None, Stored(head))  # type: ignore[arg-type]
        await hook.idle()
        assert len(calls) == 5  # stopped: no new run
    finally:
        hook.close()
