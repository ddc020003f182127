"""`defiscope staking apr` and `defiscope staking operators` against the session devnet, through the real CLI."""

from __future__ import annotations

import asyncio
import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.chain.client import ChainClient
from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.lido.apr import RebaseReport, sma_apr
from defiscope.protocols.lido.reports import TOKEN_REBASED_KIND, rebase_reports, report_of
from defiscope.store import Repository
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)
from tests.staking.conftest import native


def test_apr_json_is_lidos_moving_average(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    eth_chain: DevnetChain,
    deployment: Deployment,
    sender: Sender,
) -> None:
    result = cli.invoke(app, ["staking", "apr", "--chain", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    reports = asyncio.run(_reports(eth_chain.rpc_url, deployment, sender.w3.eth.block_number))
    sma = sma_apr(reports)
    assert doc["sma"] == f"0.{int(sma * 10**18):018d}"  # exact to 18 places, truncated
    assert [p["window"] for p in doc["series"]] == [1, 2, 3, 4, 5, 6, 7, 7]
    assert Fraction(doc["sma"]) == Fraction(int(sma * 10**18), 10**18)
    repo = Repository.open()  # the reports were kept as a time series, equal to the chain's
    try:
        assert [report_of(e) for e in repo.events(1, "lido", TOKEN_REBASED_KIND)] == reports
    finally:
        repo.close()


async def _reports(url: str, deployment: Deployment, head: int) -> list[RebaseReport]:
    client = ChainClient.connect(1, [url])
    try:
        return await rebase_reports(client, deployment, from_block=0, to_block=head)
    finally:
        await client.aclose()


def test_operators_json_lists_both_operators(cli: CliRunner, devnet_home: Path, sender: Sender) -> None:  # noqa: F811
    result = cli.invoke(app, ["staking", "operators", "--chain", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = {o["operator"]: o for o in json.loads(result.stdout)["operators"]}
    assert set(doc) == {sender.accounts[7], sender.accounts[8]}
    beacon = "0xbeaC0eeEeeeeEEeEeEEEEeeEEeEeeeEeeEEBEaC0"
    assert doc[sender.accounts[7]]["underlying"][beacon] == str(native(7))  # the seeded pods delegated to it
    assert doc[sender.accounts[8]]["underlying"][beacon] == str(native(8))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["staking", "apr", "--chain", "56"], "error: no Lido on chain 56 (devnet)"),
        (["staking", "operators", "--chain", "56"], "error: no EigenLayer on chain 56 (devnet)"),
        (
            ["staking", "apr", "--chain", "1", "--from-block", "999999999"],
            "error: from_block 999999999 is after to_block",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(cli: CliRunner, devnet_home: Path, args: list[str], message: str) -> None:  # noqa: F811
    result = cli.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
