"""`defiscope risk control` against the devnet: every fixed contract with its proxy kind and admin chain, the facts;
bad input is one line with exit 2. And every call the control reads make is declared against a real ABI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.protocols.control.profile import control_surface
from defiscope.protocols.control.surface import CONTROL_SURFACE
from defiscope.protocols.surface import event_topic
from tests.mainnet.conformance import undeclared_calls, undeclared_topics, use_problems
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)


def test_control_json_lists_contracts_admin_chains_and_facts(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    deployment: Deployment,
) -> None:
    result = cli.invoke(app, ["risk", "control", "aave-v3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["slug"], data["chain_id"]) == ("aave-v3", 1)
    by_address = {c["address"]: c for c in data["control"]}
    pool = by_address[deployment.contracts["AaveV3Pool"]]
    assert (pool["proxy"], pool["pattern"]) == ("transparent", "immutable-admin")
    # provider -> Executor_lvl1 -> PayloadsController -> GovernanceCore, as on mainnet
    assert [link["type"] for link in pool["admin_chain"]] == ["contract", "contract", "timelock", "governor"]
    assert pool["pause"][0]["holders"] == [deployment.contracts["AaveGuardianSafe"]]
    ((safe,),) = pool["pause"][0]["holder_chains"]
    assert (safe["type"], safe["threshold"], safe["detail"]) == ("multisig", 3, "3-of-5 Safe")
    assert {c["proxy"] for c in data["control"]} <= {"eip1967", "transparent", "uups", "beacon", "custom", "none"}
    assert data["facts"]["bounty"]["max_payout_usd"] == 1_000_000
    assert all(a["source"].startswith("https://") for a in data["facts"]["audits"])

    text = cli.invoke(app, ["risk", "control", "compound-v2"])
    assert text.exit_code == 0, text.output
    assert "timelock" in text.stdout
    assert "governor" in text.stdout
    assert "Proposal 062" in text.stdout
    aave = cli.invoke(app, ["risk", "control", "aave-v3"])
    assert "multisig 3-of-5 Safe" in aave.stdout


def test_unknown_slug_is_one_line_exit_2(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "control", "nope"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "slug: no facts file for 'nope'" in result.output


def test_control_surface_matches_real_abis() -> None:
    # Only the real-ABI half of `surface_problems`: the devnet-hook half forbids owner(), which control reads ask
    # of every contract by design (as mainnet's Ownable contracts and many tokens, USDC's among them, answer).
    assert [p for use in CONTROL_SURFACE for p in use_problems(use)] == []


async def test_every_control_call_and_topic_is_declared(client: ChainClient, deployment: Deployment) -> None:
    reader = Batcher(await client.snapshot()).reader("control")
    for slug in ("aave-v3", "compound-v2", "compound-v3", "makerdao", "lido", "uniswap-v3", "eigenlayer"):
        await control_surface(reader, deployment, slug)
    uses = [*CONTROL_SURFACE]
    assert reader.records
    assert undeclared_calls(reader.records, uses) == []
    topics = {bytes.fromhex(t[2:]) for q in reader.log_queries for t in _topic0s(q.topics)}
    assert event_topic("Upgraded(address)") in topics
    assert undeclared_topics(topics, uses) == []


def _topic0s(topics: object) -> list[str]:
    first = topics[0] if isinstance(topics, tuple | list) and topics else None
    return list(first) if isinstance(first, tuple | list) else [first] if isinstance(first, str) else []
