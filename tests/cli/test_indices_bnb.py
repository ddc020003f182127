"""An index on BNB Chain (devnet chain 56): its trades route through WBNB, the chain's hub, with exact quotes on
the chain's pools at each rebalance block; gas is priced in BNB and the single-token benchmark is ETH."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.devnet.anvil import rpc
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import BNB
from defiscope.devnet.world import DevnetChain
from defiscope.prices.quote import PriceQuote
from defiscope.service.context import ChainTarget
from defiscope.service.indices import index_hook
from defiscope.store import Repository
from tests.cli.test_indices import DAY, _head
from tests.conftest import mine_later
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

FOUR_ON_BNB = """
id = "four-bnb"
name = "Four on BNB Chain"
description = "WBNB, BTCB, ETH and USDT at fixed weights, rebalanced on a 1-point drift."
base_value = 100
base_date = 2026-01-01

[eligibility]
categories = ["Uncategorised"]
max_members = 4

[weighting]
method = "fixed"
cap = 0.4
weights = { WBNB = 0.4, BTCB = 0.3, ETH = 0.2, USDT = 0.1 }

[rebalance]
kind = "drift"
threshold_pct = 1
"""


def test_a_backtest_on_bnb_chain_trades_through_wbnb(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    bnb_chain: DevnetChain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'bnb.db'}"
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", url)
    repo = Repository.open(url)
    blocks = []
    for _ in range(6):
        rpc(bnb_chain.rpc_url, "anvil_setNextBlockBaseFeePerGas", [hex(3 * 10**9)])
        mine_later(bnb_chain.rpc_url, DAY)
        blocks.append(_head(bnb_chain))
    repo.save_blocks(blocks)
    quotes = []
    for day, block in enumerate(blocks):
        for symbol in ("WBNB", "BTCB", "ETH", "USDT"):
            usd = Decimal(BNB.token(symbol).usd.numerator) / BNB.token(symbol).usd.denominator
            if symbol == "WBNB":
                usd = (usd * Decimal("1.03") ** day).quantize(Decimal("0.01"))  # BNB drifts up: a rebalance
            quotes.append(PriceQuote(56, bnb_chain.tokens[symbol], usd, "test", block.timestamp, 1.0, block.number))
    repo.save_prices(quotes)
    repo.close()
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "four-bnb.toml").write_text(FOUR_ON_BNB)

    args = ["--chain", "56", "--definitions", str(definitions), "--capital", "100000", "--json"]
    result = cli.invoke(app, ["indices", "backtest", "four-bnb", *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p["block"] for p in report["series"]] == [b.number for b in blocks]
    built, *later = report["rebalances"]
    assert {t["buy"] for t in built["trades"]} == {"BTCB", "ETH", "USDT"}
    assert {t["sell"] for t in built["trades"]} == {"WBNB"}  # the index starts as WBNB: it buys out of the hub
    pools = {p.address for p in bnb_chain.pools}
    for trade in built["trades"]:
        assert int(trade["amount_out"]) > 0
        for leg in trade["route"]:
            assert leg["path"][0] == "WBNB"
            assert all(pool.split(":")[1] in pools for pool in leg["pools"])
    assert later  # WBNB gains 3 % a day: the drift band is left and the excess WBNB is sold or spent
    assert all("WBNB" in (t["sell"], t["buy"]) for r in later for t in r["trades"])
    assert Decimal(report["metrics"]["gas_usd"]) > 0  # priced in BNB at each block's base fee
    assert Decimal(report["series"][0]["weth"]) == 100  # the ETH benchmark, from the base value

    # serve tracks the indices on BNB Chain too (it used to skip a chain without WETH)
    repo = Repository.open(url)
    target = ChainTarget(56, (bnb_chain.rpc_url,), devnet_deployment(bnb_chain))
    hook = index_hook(repo, [target], definitions)
    try:
        assert [(s.index, s.chain_id) for s in hook.statuses()] == [("four-bnb", 56)]
    finally:
        hook.close()
        repo.close()
