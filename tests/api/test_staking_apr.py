"""Lido's staking APR in /v1/yields: the row the indexer stored (the adapter's 7-report moving average from
TokenRebased), served as stored, equal to Lido's moving average computed here from the chain's own events, with
the newest stored report it rests on; before the first report, the stored gap with its reason."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.chain.client import ChainClient
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.tx import Sender
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.lido.apr import user_apr
from defiscope.protocols.lido.reports import STETH, TOKEN_REBASED, TOKEN_REBASED_KIND, parse_report_log, report_of
from defiscope.protocols.yields import exact_decimal
from defiscope.service.indexer import Indexer
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from tests.api.conftest import FilledStore, Indexed, make_engine
from tests.staking.conftest import lido, sender, unreported_lido  # noqa: F401  (fixtures)


async def _chain_reports(devnet: Devnet) -> list[StoredEvent]:
    """The chain's TokenRebased events, as Lido's stream parses them."""
    chain = devnet.chain(1)
    steth = devnet_deployment(chain).contract(STETH)
    async with ChainClient.connect(1, [chain.rpc_url]) as client:
        head = (await client.block()).number
        logs = await client.get_logs(address=steth, topics=[TOKEN_REBASED], from_block=0, to_block=head)
    return [parse_report_log(log) for log in logs]


def _expected_apr(logs: list[StoredEvent]) -> Decimal:
    """Lido's SMA: the mean of the last 7 reports' userAPR (the formula is checked in tests/staking)."""
    last = [report_of(log) for log in logs[-7:]]
    return exact_decimal(sum((user_apr(r) for r in last), Fraction(0)) / len(last))


def _lido_items(client: TestClient) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    body = client.get("/v1/yields", params={"kind": "staking", "protocol": "lido"}).json()
    return body["items"], body["unavailable"]


def test_served_apr_is_lidos_sma_of_the_reports_on_chain(indexed: Indexed, devnet: Devnet) -> None:
    logs = asyncio.run(_chain_reports(devnet))
    assert len(logs) >= 7  # the devnet seeds a week of daily reports
    (item,), unavailable = _lido_items(indexed.client)
    assert unavailable == []
    assert Decimal(item["apr"]) == _expected_apr(logs)
    assert Decimal(item["apy"]) > Decimal(item["apr"]) > 0  # daily compounding of a positive rate
    assert item["market"] == item["asset"] == devnet.chain(1).contracts["LidoStETH"]
    assert item["report"] == {
        "block_number": logs[-1].block_number,
        "block_hash": logs[-1].block_hash,
        "report_timestamp": report_of(logs[-1]).report_timestamp,
        "reports_averaged": 7,
    }
    assert item["block"]["number"] == indexed.repo.latest_blocks()[1].number
    assert "moving average over the last 7 reports" in item["method"]
    # The row the adapter stored from the same reports, with the fee read beside it, is what is served.
    (stored,) = indexed.repo.latest_yields(1, "lido")
    assert _as_stored(item) == (stored.rate.apr, stored.rate.apy, stored.rate.method, stored.block.number)
    assert stored.rate.fee_share is not None
    assert item["protocol_share"] == "1/10" == str(stored.rate.fee_share.share)
    assert item["protocol_share_source"] == stored.rate.fee_share.source


async def _follow(devnet: Devnet, repo: Repository, between: Any) -> None:
    """Index the heads, call `between()` (it sends transactions), index again: the same indexer."""
    engines = {c.chain_id: make_engine(devnet_deployment(c), c.rpc_url) for c in devnet.chains}
    try:
        indexer = Indexer(engines, repo)
        await indexer.run_once()
        await asyncio.to_thread(between)
        await indexer.run_once()
    finally:
        for engine in engines.values():
            await engine.client.aclose()


def test_a_new_report_reaches_the_apr_while_the_indexer_follows(
    devnet: Devnet,
    lido: LidoDevnet,  # noqa: F811
    sender: Sender,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'follow.db'}"
    repo = Repository.open(url)
    receipts = []
    try:
        # A slashing day: the new report's APR is negative, so the average must move down.
        asyncio.run(_follow(devnet, repo, lambda: receipts.append(lido.report(sender, cl_balance_delta=-(10**21)))))
        logs = asyncio.run(_chain_reports(devnet))
        assert logs[-1].block_number == receipts[0]["blockNumber"]
        assert repo.events(1, "lido", TOKEN_REBASED_KIND) == logs  # stored once each, in order, from the stream
        app = create_app(ApiSettings(database_url=url), repo=repo, deployments=[devnet_deployment(devnet.chain(1))])
        with TestClient(app) as client:
            (item,), _ = _lido_items(client)
    finally:
        repo.close()
    assert item["report"]["block_number"] == receipts[0]["blockNumber"]
    assert Decimal(item["apr"]) == _expected_apr(logs)
    assert Decimal(item["apr"]) < _expected_apr(logs[:-1])


def _as_stored(item: dict[str, Any]) -> tuple[Decimal, Decimal, str, int]:
    return Decimal(item["apr"]), Decimal(item["apy"]), item["method"], item["block"]["number"]


def test_without_the_report_stream_the_stored_rate_is_served_without_a_report(
    client: TestClient, api_store: FilledStore
) -> None:
    # api_store was filled by snapshot_and_store alone: the adapter's stored rate, but no stored report stream.
    (item,), unavailable = _lido_items(client)
    assert unavailable == []
    repo = Repository.open(api_store.url)
    try:
        (stored,) = repo.latest_yields(1, "lido")
    finally:
        repo.close()
    assert _as_stored(item) == (stored.rate.apr, stored.rate.apy, stored.rate.method, stored.block.number)
    assert item["report"] is None


async def test_before_the_first_report_the_stored_gap_says_why(
    devnet: Devnet,
    sender: Sender,  # noqa: F811
    tmp_path: Path,
) -> None:
    unreported = unreported_lido(sender, devnet_deployment(devnet.chain(1)))
    url = f"sqlite:///{tmp_path / 'unreported.db'}"
    repo = Repository.open(url)
    engine = make_engine(unreported, devnet.chain(1).rpc_url)
    try:
        block = (await snapshot_and_store(engine, repo, slugs={"lido"})).block.number
        app = create_app(ApiSettings(database_url=url), repo=repo, deployments=[unreported])
        with TestClient(app) as client:
            items, unavailable = _lido_items(client)
            other = client.get("/v1/yields", params={"kind": "supply"}).json()
    finally:
        await engine.client.aclose()
        repo.close()
    assert items == []
    assert [(u["protocol"], u["chain_id"], u["kind"], u["market"], u["block"]["number"]) for u in unavailable] == [
        ("lido", 1, "staking", unreported.contracts[STETH], block)
    ]
    assert unavailable[0]["reason"] == f"no oracle report (TokenRebased) up to block {block}: no staking rate"
    assert other["unavailable"] == []  # only asked-for kinds are explained
