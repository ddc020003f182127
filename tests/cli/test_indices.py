"""`defiscope indices list|show|backtest`: definitions, a backtest over stored devnet history with exact quotes at
its blocks, and one line with exit 2 for each bad input (unknown index, range outside the history, a rule that
leaves nothing, a bad option)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.analytics.indices.synthetic import SyntheticMarket
from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.cli import app
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.spec import ETHEREUM
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.quote import PriceQuote
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.pools import Pool
from defiscope.routing.search import best_route
from defiscope.routing.tx import build_route_tx
from defiscope.store import Repository
from tests.conftest import mine_later
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

DAY = 86_400
SWAPPER = 6  # a funded account (1..9) that trades after the stored history
FIXED = """
id = "four"
name = "Four"
description = "WETH, WBTC, DAI and USDC at fixed weights, rebalanced daily on a 1-point drift."
base_value = 100
base_date = 2026-01-01

[eligibility]
categories = ["Uncategorised"]
max_members = 4

[weighting]
method = "fixed"
cap = 0.4
weights = { WETH = 0.4, WBTC = 0.3, DAI = 0.2, USDC = 0.1 }

[rebalance]
kind = "drift"
threshold_pct = 1
"""


@pytest.fixture
def synthetic_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repository:
    """Thirty days of synthetic history under the mainnet registry's addresses; the RPC is never reached."""
    url = f"sqlite:///{tmp_path / 'indices.db'}"
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", url)
    monkeypatch.setenv("DEFISCOPE_RPC_1", "http://127.0.0.1:9")
    addresses = {s: t.address for s, t in mainnet(1).tokens.items()}
    repo = Repository.open(url)
    SyntheticMarket.generate(days=30, addresses=addresses).write(repo)
    return repo


def run(cli: CliRunner, *args: str) -> tuple[int, str]:  # noqa: F811
    result = cli.invoke(app, ["indices", *args])
    return result.exit_code, result.output


def test_list_and_show(cli: CliRunner) -> None:  # noqa: F811
    code, text = run(cli, "list", "--json")
    assert code == 0
    assert {d["id"] for d in json.loads(text)} == {"defi-pulse", "defi-tvl", "defi-grade"}
    code, text = run(cli, "show", "defi-pulse", "--json")
    assert code == 0
    shown = json.loads(text)
    assert shown["weighting"] == {"method": "mcap", "cap": "0.25", "weights": None}
    assert shown["rebalance"] == {"kind": "calendar", "every": "monthly", "day": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nope"), "unknown index 'nope'; known: defi-grade, defi-pulse, defi-tvl"),
        (("backtest", "nope"), "unknown index 'nope'; known: defi-grade, defi-pulse, defi-tvl"),
        (("backtest", "defi-tvl", "--from-block", "5"), "are outside the stored history of chain 1"),
        (("backtest", "defi-tvl", "--from-block", "21525000", "--to-block", "5"), "is after --to-block 5"),
        (("backtest", "defi-tvl", "--capital", "-3"), "--capital must be a positive number of USD, got -3"),
        (("backtest", "defi-tvl", "--fixed-fee-bp", "10000"), "--fixed-fee-bp must be in 0..9999"),
        (("backtest", "defi-tvl", "--compare-fee-bp", "-1"), "--compare-fee-bp must be in 0..9999, got -1"),
        # 90 days of age asked, the history's first block has the tokens' first quotes: nothing is left
        (
            ("backtest", "defi-tvl"),
            "index defi-tvl: the eligibility rules leave none of 8 candidates (failed: eligibility.min_age_days",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: CliRunner,  # noqa: F811
    synthetic_store: Repository,
    args: tuple[str, ...],
    message: str,
) -> None:
    code, text = run(cli, *args)
    assert code == 2, text
    assert message in text
    assert len(text.strip().splitlines()) == 1, text
    assert "Traceback" not in text


def test_backtest_over_stored_devnet_history_with_quotes_at_its_blocks(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    eth_chain: DevnetChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten daily blocks with prices stored (WETH moving 2 % a day against the others' fixed prices): the index
    is built at the first, rebalanced when a weight drifts 1 point, each trade quoted on the pools at its block."""
    url = f"sqlite:///{tmp_path / 'devnet.db'}"
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", url)
    repo = Repository.open(url)
    blocks = []
    for _ in range(10):
        rpc(eth_chain.rpc_url, "anvil_setNextBlockBaseFeePerGas", [hex(20 * 10**9)])  # mainnet-like gas
        mine_later(eth_chain.rpc_url, DAY)
        head = _head(eth_chain)
        blocks.append(head)
    repo.save_blocks(blocks)
    quotes = []
    for day, block in enumerate(blocks):
        for symbol in ("WETH", "WBTC", "DAI", "USDC"):
            usd = Decimal(ETHEREUM.token(symbol).usd.numerator) / ETHEREUM.token(symbol).usd.denominator
            if symbol == "WETH":
                usd = (usd * Decimal("1.02") ** day).quantize(Decimal("0.01"))
            quotes.append(PriceQuote(1, eth_chain.tokens[symbol], usd, "test", block.timestamp, 1.0, block.number))
    repo.save_prices(quotes)
    repo.close()
    # after the stored history, a swap moves the pools the index's first trade (WETH -> DAI) goes through
    before = asyncio.run(_quote_at(eth_chain, blocks[0].number, "WETH", "DAI", 10**18))
    _swap_at_head(eth_chain, "WETH", "DAI", 50 * 10**18)
    assert asyncio.run(_quote_at(eth_chain, None, "WETH", "DAI", 10**18)) < before
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "four.toml").write_text(FIXED)

    first, last = blocks[0].number, blocks[-1].number
    result = cli.invoke(
        app, ["indices", "backtest", "four", "--definitions", str(definitions), "--capital", "100000", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["index"], report["from_block"], report["to_block"]) == ("four", first, last)
    assert [p["block"] for p in report["series"]] == [b.number for b in blocks]
    built, *later = report["rebalances"]
    assert built["block"] == first
    assert built["targets"] == {"DAI": "0.200000", "USDC": "0.100000", "WBTC": "0.300000", "WETH": "0.400000"}
    assert {t["buy"] for t in built["trades"]} == {"WBTC", "DAI", "USDC"}
    # the graded tokens are candidates too: left out, each with its rules and why its figures are unknown
    excluded = {e["symbol"]: e for e in built["excluded"]}
    assert set(excluded) == {"AAVE", "CAKE", "COMP", "CRV", "EIGEN", "LDO", "MKR", "UNI"}
    assert excluded["UNI"]["unknown"] == f"no stored price at or before block {first}"  # listed, never priced
    assert excluded["CAKE"]["unknown"] == "not in chain 1's token registry"
    # the first trade is the router's quote on the pools as they were at the first block (not at the head)
    opening = built["trades"][0]
    assert (opening["sell"], opening["buy"]) == ("WETH", "DAI")
    quoted = asyncio.run(_quote_at(eth_chain, first, opening["sell"], opening["buy"], int(opening["amount_in"])))
    assert int(opening["amount_out"]) == quoted
    at_head = asyncio.run(_quote_at(eth_chain, None, "WETH", "DAI", int(opening["amount_in"])))
    assert at_head != quoted
    pools = {p.address for p in eth_chain.pools}
    for trade in built["trades"]:
        assert int(trade["amount_out"]) > 0
        assert all(pool.split(":")[1] in pools for leg in trade["route"] for pool in leg["pools"])
    assert later  # WETH gains 2 % a day on the others: its weight leaves the 1-point band within days
    assert all(t["sell"] == "WETH" for r in later for t in r["trades"][:1])
    metrics = report["metrics"]
    gas_units = sum(t["gas_units"] for r in report["rebalances"] for t in r["trades"])
    weth_usd = Decimal(3000)  # the first block's price: gas is priced at each trade's block, WETH rising after
    assert Decimal(gas_units * 20 * 10**9) / 10**18 * weth_usd <= Decimal(metrics["gas_usd"])
    assert Decimal(metrics["slippage_usd"]) > 0
    assert metrics["cagr"] is not None
    assert metrics["tracking_error_by_benchmark"]["weth"] is not None
    assert metrics["tracking_error"] == metrics["tracking_error_by_benchmark"]["equal_weight"] is not None
    assert report["cost_model"] == "router quotes on each rebalance block's pools, gas at its base fee"
    # A fixed-fee run of the same history, compared with two other fees: no gas, and the deflated Sharpe
    args = ["--fixed-fee-bp", "30", "--compare-fee-bp", "0", "--compare-fee-bp", "100", "--json"]
    fixed = cli.invoke(app, ["indices", "backtest", "four", "--definitions", str(definitions), *args])
    assert fixed.exit_code == 0, fixed.output
    compared = json.loads(fixed.stdout)
    assert compared["metrics"]["gas_usd"] == "0.000000"
    assert [v["cost_model"] for v in compared["variants"]] == [
        f"fixed fee {bp} bp at the block's prices, no gas" for bp in (30, 0, 100)
    ]
    costs = [Decimal(v["slippage_usd"]) for v in compared["variants"]]
    assert costs[1] < costs[0] < costs[2]
    assert compared["deflated_sharpe"]["n_trials"] == 3
    assert 0 <= compared["deflated_sharpe"]["probability"] <= 1


async def _pools_at(chain: DevnetChain, block: int | None) -> list[Pool]:
    refs = [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools]
    async with ChainClient.connect(1, [chain.rpc_url]) as client:
        snapshot = await client.snapshot("latest" if block is None else block)
        return await load_pools(Batcher(snapshot).reader("test"), refs)


async def _quote_at(chain: DevnetChain, block: int | None, sell: str, buy: str, amount: int) -> int:
    pools = await _pools_at(chain, block)
    return best_route(pools, chain.tokens[sell], chain.tokens[buy], amount).amount_out


def _swap_at_head(chain: DevnetChain, sell: str, buy: str, amount: int) -> None:
    """One user's swap along the router's best route at the head, sent through the router."""
    sender = Sender.connect(chain.rpc_url)
    sender.rpc("evm_setAutomine", [True])
    user = sender.accounts[SWAPPER]
    token = sender.contract(contract_artifact("DevToken"), chain.tokens[sell])
    pools = asyncio.run(_pools_at(chain, None))
    route = best_route(pools, chain.tokens[sell], chain.tokens[buy], amount)
    tx = build_route_tx(route.legs, {p.address: p for p in pools}, chain.contracts, user, route.amount_out, 2**40)
    sender.send(token.functions.approve(tx.to, MAX_UINT256), sender=user)
    sent = sender.rpc("eth_sendTransaction", [{**tx.to_json(), "gas": hex(3_000_000)}])
    assert sender.w3.eth.wait_for_transaction_receipt(sent, timeout=10, poll_latency=0.002)["status"] == 1


def _head(chain: DevnetChain) -> BlockRef:
    raw = rpc(chain.rpc_url, "eth_getBlockByNumber", ["latest", False])
    assert isinstance(raw, dict)
    return BlockRef(chain.chain_id, int(raw["number"], 16), raw["hash"], int(raw["timestamp"], 16))
