"""The indices dashboard in a real browser against `defiscope serve` on the devnet, with a test index definition
($DEFISCOPE_INDEX_DEFINITIONS: four tokens at fixed weights, built at the first block) beside the shipped ones
(not built on a devnet's short history, each saying why). The list, the index page's charts (value against the
benchmarks, stacked weights, drawdown), its holdings, the backtest's rebalance trades and its metrics all equal
what the API serves."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import rpc
from defiscope.devnet.runfile import RunInfo
from tests.cli.test_indices import FIXED
from tests.devnet.helpers import wait_until
from tests.web.conftest import Served, require_chromium, serving, shoot

require_chromium()

from playwright.sync_api import Page  # noqa: E402  (after the chromium check)

BLOCKS = 4  # mined after serve's first, an hour apart: a short history for the index


@pytest.fixture(scope="module")
def tracked(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("indices")
    definitions = root / "definitions"
    definitions.mkdir()
    (definitions / "four.toml").write_text(FIXED)
    with serving(devnet, root / "home", DEFISCOPE_INDEX_DEFINITIONS=str(definitions)) as served:
        run = RunInfo.from_json(json.loads((served.home / "devnet" / "run.json").read_text()))
        url = next(c for c in run.chains if c.chain_id == 1).rpc_url
        for _ in range(BLOCKS):
            rpc(url, "evm_increaseTime", [3600])
            rpc(url, "evm_mine")

        def stored() -> bool:
            time.sleep(0.25)
            points = httpx.get(f"{served.url}/v1/indices/four/history").json()["points"]
            return len([p for p in points if p["value"] is not None]) > BLOCKS

        wait_until(stored, 90, "serve to track the test index over the mined blocks")
        yield served


def test_the_list_shows_each_index_level_or_why_it_has_none(tracked: Served, page: Page, tmp_path: Path) -> None:
    page.goto(f"{tracked.url}/#/indices")
    page.wait_for_selector("#indices-list tbody tr[data-id='four']")
    assert page.locator("header nav a", has_text="Indices").get_attribute("href") == "#/indices"
    items = httpx.get(f"{tracked.url}/v1/indices").json()["items"]
    rows = page.locator("#indices-list tbody tr")
    assert [rows.nth(i).get_attribute("data-id") for i in range(rows.count())] == [i["id"] for i in items]
    statuses = {i["id"]: i["status"] for i in items}
    assert statuses["four"] == "tracking"
    assert {statuses[i] for i in ("defi-pulse", "defi-tvl", "defi-grade")} == {"not built"}
    for i, item in enumerate(items):
        row = rows.nth(i)
        assert row.get_attribute("data-status") == item["status"]
        assert row.locator(".badge").inner_text() == item["status"]
        if item["status"] == "not built":
            assert row.locator("td.level").inner_text() == "—"  # no level, never 0
            assert row.locator("td.reason").inner_text() == item["reason"]
            assert "eligibility rules leave none" in item["reason"]
        else:  # the page repolls as blocks come: the level shown is one the API stored
            value = row.get_attribute("data-value")
            assert value is not None
            assert row.locator("td.level").inner_text() == f"{float(value):.2f}"
            stored = httpx.get(f"{tracked.url}/v1/indices/four/history").json()["points"]
            assert value in {p["value"] for p in stored}
    shoot(page, tmp_path, "dashboard-indices")


def test_the_index_page_equals_the_api(tracked: Served, page: Page, tmp_path: Path) -> None:
    base = tracked.url
    page.goto(f"{base}/#/indices")
    page.locator("#indices-list tbody tr[data-id='four'] a").click()
    page.wait_for_selector("#index:not([hidden]) #index-trades tbody tr[data-sell]", timeout=60_000)
    page.wait_for_function("() => Chart.getChart('index-value-chart')?.data.datasets[0].data.length > 0")

    def charts_equal_history() -> bool:
        time.sleep(0.25)
        history = httpx.get(f"{base}/v1/indices/four/history", params={"limit": 500}).json()["points"]
        drawn = page.evaluate(
            "() => Object.fromEntries(['index-value-chart', 'index-weights-chart', 'index-drawdown-chart'].map("
            "(id) => [id, {labels: Chart.getChart(id).data.labels,"
            " sets: Chart.getChart(id).data.datasets.map((d) => ({label: d.label, data: d.data}))}]))"
        )
        value = drawn["index-value-chart"]
        if value["labels"] != [str(p["block"]["number"]) for p in history]:
            return False
        expected = {
            key: [None if p[key] is None else float(p[key]) for p in history]
            for key in ("value", "equal_weight", "weth")
        }
        assert [s["label"] for s in value["sets"]] == ["index", "equal weight", "WETH"]
        assert [s["data"] for s in value["sets"]] == [expected["value"], expected["equal_weight"], expected["weth"]]
        weights = {s["label"]: s["data"] for s in drawn["index-weights-chart"]["sets"]}
        assert set(weights) == {"WETH", "WBTC", "DAI", "USDC"}
        for symbol, data in weights.items():
            assert data == pytest.approx([float(p["weights"].get(symbol, 0)) * 100 for p in history])
        assert drawn["index-drawdown-chart"]["sets"][0]["data"] == pytest.approx(_drawdowns(expected["value"]))
        return True

    wait_until(charts_equal_history, 60, "the index charts to equal the API's history")
    sizes = page.evaluate(
        "() => ['index-value-chart', 'index-weights-chart', 'index-drawdown-chart'].map((id) => {"
        " const c = document.getElementById(id);"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) ink++; return [c.clientWidth, ink]; })"
    )
    for width, ink in sizes:
        assert width > 600, sizes  # drawn across the card, not collapsed
        assert ink > 1000, sizes  # axes, labels and the lines
    assert page.locator("#index-name").inner_text() == "Four"

    def holdings_equal() -> bool:
        time.sleep(0.25)
        api = httpx.get(f"{base}/v1/indices/four/holdings").json()["holdings"]
        rows = page.locator("#index-holdings tbody tr")
        shown = [
            {"symbol": r.get_attribute("data-symbol"), "amount": r.get_attribute("data-amount"),
             "weight": r.get_attribute("data-weight")}
            for r in (rows.nth(i) for i in range(rows.count()))
        ]  # fmt: skip
        return shown == api

    wait_until(holdings_equal, 60, "the holdings shown to equal the API's")

    table = page.locator("#index-trades")
    to_block = table.get_attribute("data-to")
    assert to_block is not None
    backtest = httpx.get(f"{base}/v1/indices/four/backtest", params={"to_block": to_block}, timeout=60).json()
    assert str(backtest["from_block"]) == table.get_attribute("data-from")
    expected_trades = [
        [str(r["block"]), t["sell"], t["buy"], t["amount_in"], t["amount_out"], t["slippage_usd"], t["gas_usd"]]
        for r in backtest["rebalances"]
        for t in r["trades"]
    ]
    rows = page.locator("#index-trades tbody tr")
    attributes = ("block", "sell", "buy", "amount-in", "amount-out", "slippage", "gas")
    shown_trades = [[rows.nth(i).get_attribute(f"data-{a}") for a in attributes] for i in range(rows.count())]
    assert shown_trades == expected_trades
    assert {t[2] for t in shown_trades[:3]} == {"WBTC", "DAI", "USDC"}  # the build buys out of WETH, the hub
    first_route = rows.nth(0).locator("td.route").inner_text()
    assert first_route.startswith("WETH → ")
    shown_metrics = _metrics(page)
    for name, value in backtest["metrics"].items():
        if isinstance(value, dict):
            continue
        assert name in shown_metrics
        if value is None:
            assert shown_metrics[name] == ""
        elif isinstance(value, str):
            assert shown_metrics[name] == value
        else:
            assert float(shown_metrics[name]) == value
    assert page.locator("#index-level").get_attribute("data-value") is not None
    shoot(page, tmp_path, "dashboard-index")


def test_a_not_built_index_says_why(tracked: Served, page: Page) -> None:
    page.goto(f"{tracked.url}/#/indices/defi-pulse")
    page.wait_for_function("() => document.getElementById('index-name').textContent.length > 0")
    detail = httpx.get(f"{tracked.url}/v1/indices/defi-pulse").json()["index"]
    page.wait_for_function("() => document.getElementById('index-backtest-note').textContent.length > 0")
    assert page.locator("#index-level").inner_text() == "—"
    assert page.locator("#index-reason").inner_text() == detail["reason"]
    assert "no backtest:" in page.locator("#index-backtest-note").inner_text()
    assert page.locator("#index-holdings tbody tr.empty").count() == 1


def _drawdowns(values: list[float | None]) -> list[float | None]:
    peak: float | None = None
    found: list[float | None] = []
    for value in values:
        if value is None:
            found.append(None)
            continue
        peak = value if peak is None else max(peak, value)
        found.append((value / peak - 1) * 100)
    return found


def _metrics(page: Page) -> dict[str, Any]:
    rows = page.locator("#index-metrics tbody tr")
    return {
        rows.nth(i).get_attribute("data-metric"): rows.nth(i).get_attribute("data-value") for i in range(rows.count())
    }
