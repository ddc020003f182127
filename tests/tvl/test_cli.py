"""`defiscope tvl` and `defiscope explain` against the session devnet, through the real CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from defiscope.cli import app
from defiscope.devnet.world import DevnetChain
from defiscope.store import Repository
from defiscope.tvl.model import exact_sum
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)


def head(chain: DevnetChain) -> int:
    return int(Web3(Web3.HTTPProvider(chain.rpc_url)).eth.block_number)


def test_tvl_json_has_the_documented_shape(cli: CliRunner, devnet_home: Path, eth_chain: DevnetChain) -> None:  # noqa: F811
    result = cli.invoke(app, ["tvl", "--json", "--chain", "1"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    tvls = [Decimal(p["tvl_usd"]) for p in doc["protocols"]]
    assert tvls == sorted(tvls, reverse=True)  # ranked by TVL
    assert {"uniswap-v2", "devnet-treasury", "aave-v3", "lido"} <= {p["slug"] for p in doc["protocols"]}
    uni = next(p for p in doc["protocols"] if p["slug"] == "uniswap-v2")
    assert set(uni) == {
        "slug", "name", "category", "chains", "tvl_usd", "borrowed_usd", "staking_usd", "pool2_usd",
        "change_1h", "change_1d", "change_7d", "unpriced", "blocks", "not_counted", "not_counted_summary",
    }  # fmt: skip
    assert uni["name"] == "Uniswap V2"
    assert uni["category"] == "Dexes"
    assert set(uni["chains"]) == {"ethereum"}
    assert Decimal(uni["chains"]["ethereum"]) == Decimal(uni["tvl_usd"])
    assert uni["blocks"]["ethereum"]["number"] == head(eth_chain)
    assert uni["unpriced"] == []
    assert doc["failures"] == []
    assert all(p["unpriced"] == [] for p in doc["protocols"])  # every devnet token has a price
    assert all((p["not_counted"], p["not_counted_summary"]) == ([], None) for p in doc["protocols"])
    total = doc["total"]
    assert Decimal(total["sum_of_protocols_usd"]) == exact_sum(Decimal(p["tvl_usd"]) for p in doc["protocols"])
    # stored for history: the same block is now in the database
    repo = Repository.open()
    try:
        assert repo.block_hash(1, head(eth_chain)) == uni["blocks"]["ethereum"]["hash"]
        (weth_price,) = repo.prices(1, eth_chain.tokens["WETH"])  # the chosen prices are kept too
        assert (weth_price.source, weth_price.usd) == ("chainlink:ETH/USD", Decimal(3000))
        assert weth_price.block_number == head(eth_chain)
    finally:
        repo.close()


def test_tvl_table_fits_80_columns(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["tvl"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "Uniswap V2" in result.stdout
    assert "Total (each asset once):" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_explain_json_adds_up(cli: CliRunner, devnet_home: Path, eth_chain: DevnetChain) -> None:  # noqa: F811
    result = cli.invoke(app, ["explain", "devnet-treasury", "--chain", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["slug"] == "devnet-treasury"
    assert doc["block"]["number"] == head(eth_chain)
    values = [Decimal(t["value_usd"]) for t in doc["tokens"]]
    assert exact_sum(values) == Decimal(doc["totals"]["tvl"]["usd"])
    assert all(t["price"]["source"].startswith("chainlink:") for t in doc["tokens"])
    assert {c["function"] for c in doc["calls"]} == {"balanceOf(address)"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tvl", "--protocol", "nope"], "error: unknown protocol 'nope'; known here: aave-v3, compound-v2,"),
        (["tvl", "--chain", "solana"], "error: unknown chain 'solana'; known chains:"),
        (["tvl", "--chain", "42161"], "error: chain 42161 is not configured (configured: 1, 56)"),
        (["tvl", "--chain", "1", "--block", "99999"], "error: block 99999 does not exist yet (chain head is {head})"),
        (["explain", "nope", "--chain", "1"], "error: unknown protocol 'nope'"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    eth_chain: DevnetChain,
    args: list[str],
    message: str,
) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message.format(head=head(eth_chain)))
    assert len(result.stderr.strip().splitlines()) == 1
