"""What our protocol code really calls on the devnet is what it declares: every call a `Reader` records and
every event topic it scans belongs to the adapter's `surface()` (so the mainnet conformance check covers it),
and no devnet-only admin hook is ever read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Batcher
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.standins import admin_hook_names
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.registry import adapters_for, known_protocols
from defiscope.tvl.engine import TvlEngine
from tests.mainnet.conformance import undeclared_calls, undeclared_topics


@pytest.fixture
def scanned_topics(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """topic0 of every `eth_getLogs` a `ChainClient` sends while the test runs."""
    seen: list[bytes] = []
    original = ChainClient.get_logs

    async def recording(self: ChainClient, **kwargs: Any) -> Any:
        topics = kwargs.get("topics") or []
        first = topics[0] if topics else None
        for topic in first if isinstance(first, list | tuple) else [first] if first is not None else []:
            seen.append(bytes.fromhex(topic[2:]) if isinstance(topic, str) else bytes(topic))
        return await original(self, **kwargs)

    monkeypatch.setattr(ChainClient, "get_logs", recording)
    return seen


@pytest.mark.parametrize("slug", sorted(known_protocols()))
async def test_every_call_on_the_devnet_is_declared(devnet: Devnet, slug: str, scanned_topics: list[bytes]) -> None:
    hooks = admin_hook_names()
    ran = 0
    for chain in devnet.chains:
        async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
            for adapter in adapters_for(devnet_deployment(chain)):
                if adapter.info.slug != slug:
                    continue
                ran += 1
                scanned_topics.clear()
                reader = Batcher(await client.snapshot()).reader(slug)
                await adapter.read(reader)
                uses = adapter.surface()
                assert uses, f"{slug} declares no surface"
                assert undeclared_calls(reader.records, uses) == []
                assert undeclared_topics(scanned_topics, uses) == []
                called = {r.call.function.name for r in reader.records}
                assert not called & hooks, f"{slug} calls devnet-only hooks {sorted(called & hooks)}"
    assert ran, f"no {slug} adapter on the devnet"


@pytest.mark.parametrize("chain_id", [1, 56])
async def test_every_call_of_a_whole_snapshot_is_declared(
    devnet: Devnet, chain_id: int, scanned_topics: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adapters, price sources and token metadata together, as `serve` runs them, on every protocol."""
    sent: list[Call] = []
    original = Snapshot.call_many

    async def recording(self: Snapshot, calls: Sequence[Call]) -> list[CallResult]:
        sent.extend(calls)
        return await original(self, calls)

    monkeypatch.setattr(Snapshot, "call_many", recording)
    chain = devnet.chain(chain_id)
    deployment = devnet_deployment(chain)
    async with ChainClient.connect(chain_id, [chain.rpc_url]) as client:
        engine = TvlEngine(client, deployment, adapters_for(deployment), PriceAggregator(deployment))
        tvl = await engine.snapshot()
    assert tvl.snapshots
    assert len(sent) > 100
    uses = engine.surface()
    assert undeclared_calls(sent, uses) == []
    assert undeclared_topics(scanned_topics, uses) == []
