"""The dashboard in a real browser (Debian's chromium, driven by Playwright) against `defiscope serve`.

The page loads, the ranking has rows, the total chart has drawn, clicking a protocol opens its page, and
the figures shown equal the API's. A screenshot of each page is saved under the test's tmp folder (and
copied to `screenshots/` when DEFISCOPE_SCREENSHOTS is set).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import free_port, rpc
from defiscope.devnet.runfile import RunInfo
from tests.devnet.helpers import cli, seeded_data_dir, wait_until
from tests.protocols.curve.test_uncounted_pool import BROKEN, REVERTING
from tests.service.conftest import clean_env
from tests.web.conftest import require_chromium, shoot

require_chromium()

from playwright.sync_api import Page  # noqa: E402  (after the chromium check)


def usd(value: float) -> str:
    """The dashboard's compact USD format (app.js `usd`)."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:.2f}{suffix}"
    return f"${value:.2f}"


def test_dashboard_shows_what_the_api_serves(server: str, page: Page, tmp_path: Path) -> None:
    protocols = httpx.get(f"{server}/v1/protocols").json()["items"]
    assert protocols

    page.goto(server + "/")
    page.wait_for_selector("#ranking tbody tr")
    rows = page.locator("#ranking tbody tr")
    assert rows.count() == len(protocols)
    assert [rows.nth(i).get_attribute("data-slug") for i in range(rows.count())] == [p["slug"] for p in protocols]
    for i, protocol in enumerate(protocols):
        assert rows.nth(i).locator("td.tvl").inner_text() == usd(float(protocol["tvl_usd"]))
    page.wait_for_function("() => Chart.getChart('total-chart')?.data.datasets.length > 0")
    drawn = page.evaluate(
        "() => { const c = document.getElementById('total-chart');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )
    assert drawn > 1000  # the canvas has ink: axes, labels and the lines
    assert page.locator("text=Local simulation").is_visible()
    overview = shoot(page, tmp_path, "dashboard-overview")

    top = protocols[0]
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    rows.nth(0).locator("a").click()
    page.wait_for_selector("#protocol:not([hidden])")
    page.wait_for_function("() => document.getElementById('protocol-name').textContent.length > 0")
    detail = httpx.get(f"{server}/v1/protocols/{top['slug']}").json()
    assert page.locator("#protocol-name").inner_text() == detail["name"]
    assert page.locator("#protocol-tvl").inner_text() == usd(float(detail["tvl_usd"]))
    assert page.locator("#protocol-tvl").get_attribute("data-usd") == detail["tvl_usd"]
    assert page.locator("#protocol-tokens tbody tr").count() == len(detail["by_token"])
    page.wait_for_function("() => Chart.getChart('protocol-chart')?.data.datasets[0].data.length > 0")
    histories = [url for url in asked if f"/v1/protocols/{top['slug']}/tvl" in url]
    assert histories
    assert all("start=" in url for url in histories)  # a bounded range, never the whole history
    assert "block" in page.locator("#provenance-block").inner_text()
    protocol_shot = shoot(page, tmp_path, "dashboard-protocol")
    _yields_table_equals_the_api(server, page)
    assert overview.stat().st_size > 10_000
    assert protocol_shot.stat().st_size > 10_000
    _not_counted_positions_are_listed(server, page, tmp_path)


def _not_counted_positions_are_listed(server: str, page: Page, tmp_path: Path) -> None:
    """One Curve pool made unreadable on serve's own chain: the ranking says "2 positions not counted", the
    protocol page lists them (holder, token, reason) with "unknown" amounts and values, never $0."""
    run = RunInfo.from_json(json.loads((tmp_path / "home" / "devnet" / "run.json").read_text()))
    chain = next(c for c in run.chains if c.chain_id == 1)
    pool = chain.contracts[BROKEN]
    rpc(chain.rpc_url, "anvil_setCode", [pool, REVERTING])
    rpc(chain.rpc_url, "evm_mine")  # a block for the indexer to read the pool at

    def listed() -> bool:
        time.sleep(0.25)
        return bool(httpx.get(f"{server}/v1/protocols/curve").json()["uncounted_count"])

    wait_until(listed, 120, "the indexer to store Curve without the unreadable pool")
    detail = httpx.get(f"{server}/v1/protocols/curve").json()
    expected = detail["not_counted_positions"]
    assert [p["holder"] for p in expected] == [pool, pool]

    page.goto(f"{server}/#/")
    note = page.locator('#ranking tbody tr[data-slug="curve"] a.uncounted')
    note.wait_for()
    assert note.inner_text() == "2 positions not counted"
    assert page.locator("#ranking a.uncounted").count() == 1  # the other protocols counted everything
    note.click()
    page.wait_for_selector("#protocol-uncounted-card:not([hidden]) #protocol-uncounted tbody tr")
    assert page.locator("#protocol-uncounted-title").text_content() == "2 positions not counted"
    rows = page.locator("#protocol-uncounted tbody tr")
    assert rows.count() == len(expected)
    for i, position in enumerate(expected):
        row = rows.nth(i)
        assert (row.get_attribute("data-holder"), row.get_attribute("data-token")) == (pool, position["token"])
        text = row.inner_text()
        assert position["reason"] in text
        assert position["symbol"] in text
        assert row.locator("td.amount").inner_text() == "unknown"  # not read: no amount, and no 0 for it
        assert row.locator("td.value").inner_text() == "unknown"
        assert "$0" not in text
    shoot(page, tmp_path, "dashboard-not-counted")


def _yields_table_equals_the_api(server: str, page: Page) -> None:
    """Aave's page lists the API's yields row for row (exact strings); the indexer moves on, so retry."""
    page.goto(f"{server}/#/protocol/aave-v3")
    page.wait_for_selector("#protocol-yields tbody tr")
    seen: list[list[str | None]] = []

    def same() -> bool:
        time.sleep(0.25)  # gently: the API rate-limits, and the page repolls every 3 s anyway
        api = [[i["market"], i["kind"], i["apr"], i["apy"], str(i["block"]["number"])] for i in
               httpx.get(f"{server}/v1/yields", params={"protocol": "aave-v3"}).json()["items"]]  # fmt: skip
        rows = page.locator("#protocol-yields tbody tr")
        seen[:] = [
            [rows.nth(i).get_attribute(f"data-{a}") for a in ("market", "kind", "apr", "apy", "block")]
            for i in range(rows.count())
        ]
        return bool(api) and seen == api

    wait_until(same, 120, "the dashboard's yields to equal the API's")
    assert page.locator("#protocol-yields-card").is_visible()
    assert {row[1] for row in seen} == {"supply", "borrow"}


def test_dashboard_shows_the_sync_then_the_figures(devnet: Devnet, page: Page, tmp_path: Path) -> None:
    """Opened while `serve` reads its first snapshot (slowed by the provider simulator's `free` profile): a
    syncing banner per chain with its phase and bar, a dash (not $0) for the total; then the figures."""
    home = seeded_data_dir(devnet, tmp_path / "home")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = cli("serve", "--port", str(port), "--no-simulate", "--provider-limits", "free")
    child = subprocess.Popen(command, env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def bound() -> bool:
        try:
            return httpx.get(f"{base}/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return child.poll() is not None

    try:
        wait_until(bound, 60, "defiscope serve to bind its API")
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        page.goto(base + "/")
        page.wait_for_selector("#sync-banner:not([hidden]) #sync-chains li")
        seen = page.evaluate(
            "() => ({banner: document.getElementById('sync-banner').innerText,"
            " chains: [...document.querySelectorAll('#sync-chains li')].map((li) => ({chain: li.dataset.chain,"
            " phase: li.dataset.phase, percent: li.dataset.percent ?? null,"
            " bars: li.querySelectorAll('progress').length, text: li.innerText})),"
            " empty: document.querySelector('#ranking tbody tr.empty') !== null,"
            " total: document.getElementById('total-tvl').textContent})"
        )
        assert "Indexing in progress" in seen["banner"]
        assert {c["chain"] for c in seen["chains"]} <= {"ethereum", "bsc"}
        for chain in seen["chains"]:
            assert chain["phase"] in ("discovering", "catching_up")
            assert chain["bars"] == 1
            assert ("%" in chain["text"]) == (chain["percent"] is not None)
            assert "left" in chain["text"]  # the ETA, or that it is not known yet
        if seen["empty"]:  # nothing stored yet: no total, and certainly not $0
            assert seen["total"] == "—"
        shoot(page, tmp_path, "dashboard-syncing")
        page.wait_for_selector("#sync-banner", state="hidden", timeout=60_000)
        page.wait_for_selector("#ranking tbody tr[data-slug]")
        assert page.locator("#total-tvl").inner_text().startswith("$")
        assert "nothing yet" not in page.locator("#lag").inner_text()
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)
