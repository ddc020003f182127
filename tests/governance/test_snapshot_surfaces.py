"""The Snapshot source through the API and the CLI: `source=` / `--source`, the `sources` field, a failed
Hub beside the on-chain list (200, never a 5xx; CLI exit 1 with one line), the source off, the OpenAPI schema.

The store is a real SQLite database holding one indexed block of chain 1 and one Compound `ProposalCreated`
kept as the indexer keeps it; the Hub is the local recorded one (`tests.governance.hub`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from defiscope.api import ApiSettings, create_app
from defiscope.cli import app as cli_app
from defiscope.deployments.mainnet import mainnet
from defiscope.governance.snapshot_settings import SnapshotSettings
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import PROPOSAL_CREATED_KIND
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.store.models import Block
from tests.governance.hub import Hub, closed_port_url, hub_server
from tests.service.conftest import cli  # noqa: F401  (fixture)

BLOCK = 21_000_000
LOOKBACK = 20 * 365  # the recorded proposals are of late 2025: far enough back for any test day
PATH = "/v1/governance/proposals"


@pytest.fixture
def hub() -> Iterator[Hub]:
    with hub_server() as served:
        yield served


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Repository]:
    repo = Repository.open(f"sqlite:///{tmp_path / 'gov.db'}")
    with Session(repo.engine) as session, session.begin():
        session.add(Block(chain_id=1, number=BLOCK, hash="0x" + "ab" * 32, timestamp=1_765_000_000))
    created = StoredEvent(
        PROPOSAL_CREATED_KIND,
        BLOCK - 50_000,
        "0x" + "cd" * 32,
        7,
        "0x" + "ef" * 32,
        {
            "id": "301",
            "proposer": "0x2210dc066aacB03C9676C4F1b36084Af7cCDd19F",
            "targets": [],
            "values": [],
            "signatures": [],
            "calldatas": [],
            "vote_start": BLOCK - 49_000,
            "vote_end": BLOCK - 30_000,
            "description": "# Compound: an empty proposal\nvoted on by nobody",
        },
        key="301",
    )
    repo.save_events(1, GOVERNORS["compound"].keeper, [created])
    yield repo
    repo.close()


def api(repo: Repository, snapshot: SnapshotSettings) -> TestClient:
    app = create_app(
        ApiSettings(database_url=str(repo.engine.url)), repo=repo, deployments=[mainnet(1)], snapshot=snapshot
    )
    return TestClient(app)


def test_api_lists_snapshot_beside_the_chain(store: Repository, hub: Hub) -> None:
    with api(store, SnapshotSettings(enabled=True, url=hub.url, lookback_days=LOOKBACK)) as client:
        answer = client.get(PATH, params={"protocol": "compound"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(p["source"], p["id"]) for p in body["proposals"]] == [
            ("chain", "301"),
            ("snapshot", "0x3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829"),
        ]
        chain, offchain = body["proposals"]
        assert chain["state"] == "Defeated"
        assert chain["votes"]["for"] == "0"
        assert offchain["state"] == "Closed"
        assert offchain["choices"] == [
            {"choice": "Yes", "score": "210000.5"},
            {"choice": "No", "score": "9000"},
        ]
        assert offchain["actions"] == []
        assert "no on-chain actions" in offchain["actions_reason"]
        assert offchain["quorum"] is None
        assert offchain["quorum_reason"] == "the space sets no quorum"
        assert [(s["source"], s["status"]) for s in body["sources"]] == [("chain", "ok"), ("snapshot", "ok")]
        assert "comp-vote.eth" in body["sources"][1]["detail"]
        assert "no-cache" in answer.headers["cache-control"]
        assert answer.headers["etag"]

        only = client.get(PATH, params={"source": "snapshot", "state": "active"}).json()
        assert [p["title"] for p in only["proposals"]] == ["[TEMP CHECK] Onboard weETH to the Prime market"]
        assert [s["source"] for s in only["sources"]] == ["snapshot"]
        assert only["concentration"] == []
        asked = len(hub.requests)
        client.get(PATH, params={"source": "snapshot", "state": "active"})
        assert len(hub.requests) == asked  # within the TTL: the Hub is not asked again


def test_api_with_the_hub_offline_keeps_the_chain_list(store: Repository) -> None:
    url = closed_port_url()
    with api(store, SnapshotSettings(enabled=True, url=url, max_attempts=1)) as client:
        answer = client.get(PATH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [p["source"] for p in body["proposals"]] == ["chain"]
    snapshot = body["sources"][1]
    assert snapshot["status"] == "failed"
    assert f"cannot reach {url.split('/')[2]}" in snapshot["detail"]


def test_api_source_off_bad_source_and_schema(store: Repository) -> None:
    with api(store, SnapshotSettings()) as client:
        body = client.get(PATH, params={"source": "all"}).json()
        assert [p["source"] for p in body["proposals"]] == ["chain"]
        assert body["sources"][1]["status"] == "off"
        assert "DEFISCOPE_SNAPSHOT_ENABLED" in body["sources"][1]["detail"]
        assert client.get(PATH, params={"source": "chain"}).json()["sources"][0]["source"] == "chain"
        bad = client.get(PATH, params={"source": "tally"})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "source"
        bad_state = client.get(PATH, params={"state": "Closing"})
        assert bad_state.status_code == 422
        assert bad_state.json()["error"]["field"] == "state"
        schema = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in schema["paths"][PATH]["get"]["parameters"]}
    assert parameters["source"]["schema"]["enum"] == ["chain", "snapshot", "all"]
    models = schema["components"]["schemas"]
    assert models["SnapshotProposal"]["properties"]["source"]["const"] == "snapshot"
    assert set(models["Source"]["properties"]["status"]["enum"]) == {"ok", "failed", "off"}


def _env(tmp_path: Path, url: str, enabled: str = "1") -> dict[str, str]:
    return {
        "DEFISCOPE_DATA_DIR": str(tmp_path),
        "DEFISCOPE_SNAPSHOT_ENABLED": enabled,
        "DEFISCOPE_SNAPSHOT_URL": url,
        "DEFISCOPE_SNAPSHOT_MAX_ATTEMPTS": "1",
        "DEFISCOPE_SNAPSHOT_LOOKBACK_DAYS": str(LOOKBACK),
    }


def test_cli_lists_snapshot_proposals(cli: CliRunner, hub: Hub, tmp_path: Path) -> None:  # noqa: F811
    args = ["governance", "proposals", "--source", "snapshot", "--protocol", "lido", "--json"]
    result = cli.invoke(cli_app, args, env=_env(tmp_path, hub.url))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [p["title"] for p in doc["proposals"]] == ["Lido: approve the staking router module"]
    assert doc["proposals"][0]["quorum"] == "50000000"
    assert doc["sources"][0]["status"] == "ok"
    text = cli.invoke(cli_app, args[:-1], env=_env(tmp_path, hub.url))
    assert text.exit_code == 0
    assert "Yes 52000000.25 / No 1000.5" in text.stdout


def test_cli_offline_exits_1_with_one_line(cli: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    url = closed_port_url()
    result = cli.invoke(cli_app, ["governance", "proposals", "--source", "snapshot"], env=_env(tmp_path, url))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"cannot reach {url.split('/')[2]}" in lines[0]
    assert "--source chain" in lines[0]


def test_cli_source_off_or_unknown_exits_2(cli: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    off = cli.invoke(cli_app, ["governance", "proposals", "--source", "snapshot"], env=_env(tmp_path, "http://x", "0"))
    assert off.exit_code == 2
    assert "DEFISCOPE_SNAPSHOT_ENABLED=1" in off.stderr
    lido = cli.invoke(cli_app, ["governance", "proposals", "--protocol", "lido"], env=_env(tmp_path, "http://x", "0"))
    assert lido.exit_code == 2
    assert "lido has no on-chain governor here; its Snapshot votes need DEFISCOPE_SNAPSHOT_ENABLED=1" in lido.stderr
    bad = cli.invoke(cli_app, ["governance", "proposals", "--source", "tally"], env=_env(tmp_path, "http://x"))
    assert bad.exit_code == 2
    assert "unknown source 'tally'" in bad.stderr
