"""Snapshot's Hub as an off-chain governance source, against recorded answers served by a real local HTTP
server (`tests.governance.hub`): paging, a 429 then success (Retry-After honoured), 5xx retries, malformed
bodies, offline; the mapping into the governance view (states, exact scores, quorum, no actions); the TTL
cache; the settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from defiscope.chain.errors import InvalidInput
from defiscope.config import load_settings
from defiscope.governance.offchain import NO_ACTIONS, SNAPSHOT_SPACES, OffchainState, offchain_proposal
from defiscope.governance.snapshot import (
    SnapshotClient,
    SnapshotHttpError,
    SnapshotMalformed,
    SnapshotRateLimited,
    SnapshotUnreachable,
)
from defiscope.governance.snapshot_settings import SnapshotSettings
from defiscope.governance.sources import OffchainSource
from tests.governance.hub import Canned, Hub, closed_port_url, hub_server, recorded_items

NOW = 1765000500  # after the recorded proposals were created, while the active one is open
ALL_SPACES = tuple(s for spaces in SNAPSHOT_SPACES.values() for s in spaces)


class Sleeps:
    """tenacity's sleep: records each wait instead of spending it (the server is real, the clock is not)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(url: str, sleeps: Sleeps | None = None, **options: object) -> SnapshotClient:
    settings = SnapshotSettings(enabled=True, url=url, **options)  # type: ignore[arg-type]
    return SnapshotClient(settings, sleep=sleeps or Sleeps())


@pytest.fixture
def hub() -> Iterator[Hub]:
    with hub_server() as served:
        yield served


async def test_pages_until_a_short_page_newest_first(hub: Hub) -> None:
    async with client(hub.url, page_size=2, api_key="snap-key-1") as snapshot:
        docs, truncated = await snapshot.proposals(ALL_SPACES, created_gte=0)
    assert not truncated
    assert [d.created for d in docs] == sorted((json.loads(i)["created"] for i in recorded_items()), reverse=True)
    assert [(hub.variables(i)["first"], hub.variables(i)["skip"]) for i in range(3)] == [(2, 0), (2, 2), (2, 4)]
    assert len(hub.requests) == 3  # 2 + 2 + 1: the short third page ends it
    headers = hub.requests[0][0]
    assert headers["x-api-key"] == "snap-key-1"
    assert hub.variables(0)["spaces"] == list(ALL_SPACES)


async def test_max_pages_cuts_the_list_and_says_so(hub: Hub) -> None:
    async with client(hub.url, page_size=2, max_pages=2) as snapshot:
        docs, truncated = await snapshot.proposals(ALL_SPACES, created_gte=0)
    assert truncated
    assert len(docs) == 4
    assert len(hub.requests) == 2


async def test_created_gte_and_spaces_select(hub: Hub) -> None:
    async with client(hub.url) as snapshot:
        docs, _ = await snapshot.proposals(("uniswapgovernance.eth",), created_gte=1764800000)
    assert [d.title for d in docs] == ["Deploy Uniswap v4 on a new chain"]
    assert "x-api-key" not in hub.requests[0][0]  # no key configured: none sent


async def test_a_429_then_success_waits_the_retry_after(hub: Hub) -> None:
    hub.script.append(Canned(429, b'{"error": "too many requests"}', {"Retry-After": "7"}))
    sleeps = Sleeps()
    async with client(hub.url, sleeps) as snapshot:
        docs, _ = await snapshot.proposals(ALL_SPACES, created_gte=0)
    assert len(docs) == 5
    assert sleeps.waits == [7.0]
    assert len(hub.requests) == 2
    assert hub.requests[0][1] == hub.requests[1][1]


async def test_a_retry_after_beyond_the_cap_fails_at_once(hub: Hub) -> None:
    hub.script.append(Canned(429, b"", {"Retry-After": "600"}))
    sleeps = Sleeps()
    async with client(hub.url, sleeps, max_retry_after=30.0) as snapshot:
        with pytest.raises(SnapshotRateLimited, match=r"127\.0\.0\.1:\d+ rate-limited us for 600 s"):
            await snapshot.proposals(ALL_SPACES, created_gte=0)
    assert sleeps.waits == []
    assert len(hub.requests) == 1


async def test_5xx_is_retried_with_backoff_then_fails_naming_the_host(hub: Hub) -> None:
    hub.script += [Canned(503, b"upstream down", {"Retry-After": "2"}), *[Canned(502, b"bad gateway")] * 3]
    sleeps = Sleeps()
    async with client(hub.url, sleeps, max_attempts=4) as snapshot:
        with pytest.raises(SnapshotHttpError, match=r"^127\.0\.0\.1:\d+ answered HTTP 502: try later$"):
            await snapshot.proposals(ALL_SPACES, created_gte=0)
    assert len(hub.requests) == 4
    assert sleeps.waits[0] == 2.0  # the 503's Retry-After
    assert len(sleeps.waits) == 3
    assert all(0 <= w <= 8 for w in sleeps.waits[1:])  # then full jitter, capped


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"errors": [{"message": "Unknown argument \\"created_gte\\""}]}', "GraphQL error"),
        (b'{"data": {"space": null}}', "no data.proposals list"),
        (
            b'{"data": {"proposals": [{"id": "x", "choices": [], "start": 1, "end": 2, "author": "a", "created": 1}]}}',
            "proposal whose 0.title is wrong",
        ),
        (
            b'{"data": {"proposals": [{"id": "x", "title": "t", "choices": [], "start": "soon", "end": 2,'
            b' "author": "a", "created": 1}]}}',
            "proposal whose start is wrong",
        ),
    ],
)
async def test_a_malformed_body_fails_at_once_saying_what(hub: Hub, body: bytes, problem: str) -> None:
    hub.script.append(Canned(200, body))
    sleeps = Sleeps()
    async with client(hub.url, sleeps) as snapshot:
        with pytest.raises(SnapshotMalformed) as caught:
            await snapshot.proposals(ALL_SPACES, created_gte=0)
    message = str(caught.value)
    assert message.startswith(hub.url.split("/")[2])
    assert problem.split(" is ")[0].replace("0.", "") in message
    assert "\n" not in message
    assert "DEFISCOPE_SNAPSHOT_URL" in message
    assert len(hub.requests) == 1
    assert sleeps.waits == []


async def test_offline_is_unreachable_naming_the_host_and_what_to_do() -> None:
    url = closed_port_url()
    sleeps = Sleeps()
    async with client(url, sleeps, max_attempts=2) as snapshot:
        with pytest.raises(SnapshotUnreachable) as caught:
            await snapshot.proposals(ALL_SPACES, created_gte=0)
    message = str(caught.value)
    assert f"cannot reach {url.split('/')[2]}" in message
    assert "--source chain" in message
    assert len(sleeps.waits) == 1  # a refused connection is retried once (max_attempts=2), then reported


async def test_mapping_keeps_states_scores_and_quorum_honest(hub: Hub) -> None:
    async with client(hub.url) as snapshot:
        docs, _ = await snapshot.proposals(ALL_SPACES, created_gte=0)
    by_title = {d.title: offchain_proposal(d, now=NOW) for d in docs}
    active = by_title["[TEMP CHECK] Onboard weETH to the Prime market"]
    assert (active.protocol, active.state, active.chain_id) == ("aave", OffchainState.ACTIVE, 1)
    assert [c.score for c in active.choices] == [Decimal("412345.678901234567"), Decimal("1250.5"), Decimal(0)]
    assert active.quorum == Decimal(320000)
    assert not active.scores_final
    assert active.snapshot_block == 23930000
    pending = by_title["Deploy Uniswap v4 on a new chain"]
    assert pending.state is OffchainState.PENDING
    assert "opens at 1765000000" in pending.state_reason
    assert pending.quorum is None
    assert pending.quorum_reason == "the space sets no quorum"
    closed = by_title["Fee switch: turn on protocol fees for v3 pools"]
    assert closed.state is OffchainState.CLOSED
    assert closed.scores_final
    assert "not an outcome" in closed.state_reason
    assert "final" in closed.state_reason
    assert closed.scores_total == Decimal("61388023.873456789012")  # digit for digit, no float rounding
    assert sum(c.score or 0 for c in closed.choices) == closed.scores_total
    assert closed.voters == 1345
    assert closed.voting_type == "basic"
    assert {p.protocol for p in by_title.values()} == set(SNAPSHOT_SPACES)
    assert "no on-chain actions" in NO_ACTIONS


async def test_unknown_hub_state_is_none_with_its_reason(hub: Hub) -> None:
    item = json.loads(recorded_items()[2])
    item["state"] = "archived"
    hub.script.append(Canned(200, json.dumps({"data": {"proposals": [item]}}).encode()))
    async with client(hub.url) as snapshot:
        (doc,), _ = await snapshot.proposals(ALL_SPACES, created_gte=0)
    proposal = offchain_proposal(doc, now=NOW)
    assert proposal.state is None
    assert "'archived'" in proposal.state_reason


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_source_caches_for_the_ttl_and_failures_for_less(hub: Hub) -> None:
    clock = Clock()
    settings = SnapshotSettings(enabled=True, url=hub.url, cache_ttl=60.0, failure_ttl=15.0, max_attempts=1)
    source = OffchainSource(settings, client=SnapshotClient(settings), clock=clock, wall=lambda: NOW)
    try:
        first = await source.proposals(("uniswap",), chain_id=1)
        assert first.status.status == "ok"
        assert len(first.proposals) == 2
        assert first.status.fetched_at == NOW
        clock.now += 59
        again = await source.proposals(("uniswap",), chain_id=1)
        assert again.proposals == first.proposals
        assert len(hub.requests) == 1
        assert (await source.proposals(("uniswap",), chain_id=56)).proposals == ()  # voting network is 1
        clock.now += 2
        hub.script.append(Canned(500, b"boom"))
        failed = await source.proposals(("uniswap",), chain_id=1)
        assert failed.status.status == "failed"
        assert failed.error is not None
        assert failed.proposals == ()
        assert "answered HTTP 500" in failed.status.detail
        assert len(hub.requests) == 2
        clock.now += 14
        assert (await source.proposals(("uniswap",), chain_id=1)).status.status == "failed"
        assert len(hub.requests) == 2  # the failure is reported again, the Hub not asked
        clock.now += 2
        assert (await source.proposals(("uniswap",), chain_id=1)).status.status == "ok"
        assert len(hub.requests) == 3
    finally:
        await source.aclose()


async def test_source_off_by_default_asks_nothing() -> None:
    source = OffchainSource(SnapshotSettings(url=closed_port_url()))
    listing = await source.proposals(("uniswap",), chain_id=1)
    assert listing.status.status == "off"
    assert "DEFISCOPE_SNAPSHOT_ENABLED=1" in listing.status.detail


def test_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "config.toml").write_text("[snapshot]\nenabled = true\ncache_ttl = 30\n")
    env = {
        "DEFISCOPE_DATA_DIR": str(folder),
        "DEFISCOPE_SNAPSHOT_API_KEY": "snap-secret-9",
        "DEFISCOPE_SNAPSHOT_PAGE_SIZE": "50",
    }
    settings = load_settings(env=env).snapshot
    assert (settings.enabled, settings.cache_ttl, settings.api_key, settings.page_size) == (
        True,
        30,
        "snap-secret-9",
        50,
    )
    assert "snap-secret-9" not in repr(settings)  # the key stays out of logs
    assert load_settings(env={"DEFISCOPE_DATA_DIR": str(folder / "none")}).snapshot.enabled is False
    with pytest.raises(InvalidInput, match="DEFISCOPE_SNAPSHOT_ENABLED"):
        load_settings(env={"DEFISCOPE_DATA_DIR": str(folder / "none"), "DEFISCOPE_SNAPSHOT_ENABLED": "maybe"})
    (folder / "config.toml").write_text('[snapshot]\nspaces = ["x.eth"]\n')
    with pytest.raises(InvalidInput, match="unknown key 'spaces'"):
        load_settings(env={"DEFISCOPE_DATA_DIR": str(folder)})
    with pytest.raises(InvalidInput, match="http"):
        SnapshotSettings(url="ftp://hub")
