"""`defiscope risk profile` against the devnet: issue 18's JSON shape, read live (snapshot, control, governance at
one block), the text view, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from defiscope.analytics.risk.score import FORMULA_VERSION
from defiscope.cli import app
from defiscope.deployments import Deployment
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

PROXY_KINDS = {"eip1967", "transparent", "uups", "beacon", "none"}
ADMIN_TYPES = {"eoa", "multisig", "timelock", "governor", "contract", "unknown"}


def test_profile_json_has_the_issue_shape(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    deployment: Deployment,
) -> None:
    result = cli.invoke(app, ["risk", "profile", "compound-v2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    issue = {"slug", "block", "formula_version", "composite", "pillars", "control", "facts", "changes"}
    # added: bad debt where a contract exposes it (none: null); the kinds found at run time with their rule
    assert set(data) == issue | {"bad_debt", "discovered"}
    assert data["bad_debt"] is None  # Compound V2 exposes none: not read, never 0
    assert (data["slug"], data["formula_version"]) == ("compound-v2", FORMULA_VERSION)
    assert isinstance(data["block"], int)
    assert 0 <= data["composite"] <= 100
    pillars = {p["name"]: p for p in data["pillars"]}
    assert sum(p["weight"] for p in data["pillars"]) == 100
    # Read live: its Comptroller's admin chain runs through the timelock to the governor; prices and provenance
    # from its snapshot at the same block; governance from the Governor's events.
    comptroller = next(c for c in data["control"] if c["address"] == deployment.contracts["CompoundV2Comptroller"])
    assert [h["type"] for h in comptroller["admin_chain"]] == ["timelock", "governor"]
    assert comptroller["admin_chain"][0]["delay_seconds"] > 0
    assert {c["proxy"] for c in data["control"]} <= PROXY_KINDS
    assert {h["type"] for c in data["control"] for h in c["admin_chain"]} <= ADMIN_TYPES
    # The issue's link fields, plus a nominee not yet accepted and Aragon's conditional holders (docs/risk.md).
    link_fields = {"address", "type", "threshold", "delay_seconds", "pending_owner", "conditional"}
    assert all(set(h) == link_fields for c in data["control"] for h in c["admin_chain"])
    assert all(c["pending_owner"] is None for c in data["control"])  # nobody nominated on the devnet's world
    # Every cToken of the Comptroller, found by the snapshot's discovery, inspected: one entry per shared control.
    (ctokens,) = [k for k in data["discovered"] if k["kind"] == "cToken"]
    markets = {a for n, a in deployment.contracts.items() if n.startswith("CompoundV2cToken:")}
    assert (ctokens["rule"], ctokens["count"]) == ("inspected", len(markets))
    groups = [c["discovered"] for c in data["control"] if c.get("discovered", {}).get("kind") == "cToken"]
    assert {a for g in groups for a in g["addresses"]} == markets
    assert len(groups) == ctokens["groups"]
    assert pillars["oracle dependence"]["score"] is not None
    assert "feeds" in pillars["oracle dependence"]["evidence"]
    assert (
        "getUnderlyingPrice" in pillars["oracle dependence"]["evidence"]
        or "oracles" in pillars["oracle dependence"]["evidence"]
    )
    assert pillars["economic"]["score"] is not None
    assert "utilisation" in pillars["economic"]["evidence"]
    assert pillars["governance"]["score"] is not None
    assert pillars["governance"]["evidence"].startswith("compound: ")
    assert set(data["facts"]) == {"audits", "incidents", "insurance", "bounty"}
    assert data["changes"] == []  # the CLI reads; serve stores the changes

    text = cli.invoke(app, ["risk", "profile", "uniswap-v3"])
    assert text.exit_code == 0, text.output
    assert "risk score" in text.stdout
    assert "pool (each, from PoolCreated): by-factory; immutable by construction" in " ".join(text.stdout.split())
    assert "oracle dependence" in text.stdout
    comet = cli.invoke(app, ["risk", "profile", "compound-v3"])
    assert comet.exit_code == 0, comet.output
    words = " ".join(comet.stdout.split())  # as printed, whatever the console wrapped
    read = re.findall(r"bad debt Comet (\w+): (\d+) of (0x[0-9a-fA-F]{40})", words)
    assert len(read) == 4  # one per Comet, read at the block: an amount of its base token, not "not read"


def test_unknown_slug_is_one_line_exit_2(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "profile", "nope"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "slug: no facts file for 'nope'" in result.output


def test_a_protocol_not_on_the_chain_is_one_line_exit_2(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "profile", "pancakeswap-v3", "--chain", "1"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert "slug: no protocol 'pancakeswap-v3' on chain 1" in result.output
