"""The adapter contract, checked on every adapter the devnet runs (see docs/adding-a-protocol.md):

- amounts are Python ints (never floats), tokens checksum addresses, kinds DefiLlama's;
- every call is recorded (the result's provenance is exactly what its reader read);
- the same block gives the same answer;
- a read whose calls all fail raises a `DefiscopeError` saying what failed — never a silent zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from eth_utils import is_checksum_address

from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Batcher
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.base import AdapterResult, BalanceKind, CallRecord
from defiscope.protocols.registry import adapters_for, known_protocols


class FailingSnapshot(Snapshot):
    """A pinned block where every contract call fails (a node that reverts everything)."""

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        return [CallResult(call, False, error="forced failure") for call in calls]


def _adapters(devnet: Devnet, slug: str):  # type: ignore[no-untyped-def]
    found = [
        (chain, a) for chain in devnet.chains for a in adapters_for(devnet_deployment(chain)) if a.info.slug == slug
    ]
    assert found, f"no {slug} adapter on the devnet"
    return found


@pytest.mark.parametrize("slug", sorted(known_protocols()))
async def test_amounts_are_ints_calls_recorded_and_reads_repeatable(devnet: Devnet, slug: str) -> None:
    for chain, adapter in _adapters(devnet, slug):
        async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
            snapshot = await client.snapshot()
            reader = Batcher(snapshot).reader(slug)
            first = await adapter.read(reader)
            again = await adapter.read(Batcher(snapshot).reader(slug))
        assert isinstance(first, AdapterResult)
        assert first.positions, f"{slug} holds nothing on chain {chain.chain_id}"
        for position in first.positions:
            assert type(position.amount) is int, position
            assert position.amount >= 0, position
            assert is_checksum_address(position.token), position
            assert position.kind in set(BalanceKind)
        assert first.calls == tuple(CallRecord.of(r) for r in reader.records)
        assert first.calls, f"{slug} recorded no call"
        assert first.positions == again.positions
        assert first.yields == again.yields


@pytest.mark.parametrize("slug", sorted(known_protocols()))
async def test_a_failed_read_raises_never_a_silent_zero(devnet: Devnet, slug: str) -> None:
    for chain, adapter in _adapters(devnet, slug):
        async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
            pinned = await client.snapshot()
            with pytest.raises(DefiscopeError, match=r"\w") as raised:
                await adapter.read(Batcher(FailingSnapshot(client, pinned.block)).reader(slug))
        assert "forced failure" in str(raised.value) or "failed" in str(raised.value), str(raised.value)
