"""The risk path (account discovery from events, account scans in every market, the Pool's own figures) reads
only what the adapter's `surface()` declares, as the adapter path does (``tests/mainnet``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.aave.market import AaveMarket
from defiscope.protocols.aave.positions import pool_account_data
from defiscope.protocols.aave.risk import aave_risk_positions
from tests.mainnet.conformance import surface_problems, undeclared_calls, undeclared_topics
from tests.protocols.aave.kit import AaveKit


async def test_the_risk_path_reads_only_what_is_declared(
    kit: AaveKit, client: ChainClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Call] = []
    topics: list[bytes] = []
    call_many, get_logs = Snapshot.call_many, ChainClient.get_logs

    async def recording_calls(self: Snapshot, calls: Sequence[Call]) -> list[CallResult]:
        sent.extend(calls)
        return await call_many(self, calls)

    async def recording_logs(self: ChainClient, **kwargs: Any) -> Any:
        (first, *_) = kwargs["topics"]
        topics.extend(bytes.fromhex(t[2:]) for t in (first if isinstance(first, list) else [first]))
        return await get_logs(self, **kwargs)

    monkeypatch.setattr(Snapshot, "call_many", recording_calls)
    monkeypatch.setattr(ChainClient, "get_logs", recording_logs)
    _, positions, _, not_valued = await aave_risk_positions(client, kit.deployment)
    assert not_valued == ()
    accounts = [p.account for p in positions]
    for market in AaveMarket.all_of(kit.deployment):
        await pool_account_data(await kit.reader(client), market.pool, accounts)
    assert len(positions) > 20
    uses = AaveV3Adapter(kit.deployment).surface()
    assert surface_problems(uses) == []
    assert {c.function.name for c in sent} >= {"getUserConfiguration", "getUserEMode", "scaledBalanceOf"}
    assert undeclared_calls(sent, uses) == []
    assert topics
    assert undeclared_topics(topics, uses) == []
