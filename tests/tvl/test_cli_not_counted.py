"""`defiscope tvl` and `explain` say what a protocol could not count; `--defillama-rules` applies DefiLlama's
long-tail rule for one run (shown, not stored)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.store import Repository
from tests.protocols.curve.test_uncounted_pool import BROKEN, REVERTING
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)


def test_tvl_and_explain_list_an_unreadable_pool(cli: CliRunner, devnet_home: Path, eth_chain: DevnetChain) -> None:  # noqa: F811
    pool = eth_chain.contracts[BROKEN]
    Sender.connect(eth_chain.rpc_url).rpc("anvil_setCode", [pool, REVERTING])
    result = cli.invoke(app, ["tvl", "--chain", "1", "--protocol", "curve"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "not counted curve: 2 positions not counted: " in text
    assert pool in "".join(result.stdout.split())  # rich may wrap the address
    explained = cli.invoke(app, ["explain", "curve", "--chain", "1"])
    assert explained.exit_code == 0, explained.output
    flat = " ".join(explained.stdout.split())
    assert "2 positions not counted: " in flat
    assert flat.count("not counted: ") == 3  # the summary, then one line per coin
    assert flat.count("but amount not read") == 2  # each coin's price is known, its amount is not


def test_defillama_rules_for_one_run(cli: CliRunner, devnet_home: Path, bnb_chain: DevnetChain) -> None:  # noqa: F811
    cake = bnb_chain.tokens["CAKE"]
    args = ["tvl", "--chain", "56", "--protocol", "pancakeswap-v2", "--json"]
    plain = json.loads(cli.invoke(app, args).stdout)
    ruled = cli.invoke(app, [*args, "--defillama-rules"])
    assert ruled.exit_code == 0, ruled.output
    (row,) = json.loads(ruled.stdout)["protocols"]
    assert [(n["token"], n["cause"]) for n in row["not_counted"]] == [(cake, "long_tail")]
    assert row["not_counted_summary"].startswith("1 position not counted: long-tail side")
    assert plain["protocols"][0]["not_counted"] == []
    # Only the plain run was stored: history keeps the configured method.
    repo = Repository.open()
    try:
        stored = repo.latest_snapshot("pancakeswap-v2", 56)
    finally:
        repo.close()
    assert stored is not None
    assert stored.uncounted == ()
