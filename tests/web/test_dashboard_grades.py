"""The grades view (#/grades) in a real browser: the page shows what the API serves.

On a real devnet history (`devnet simulate --days 1` on a copy of the session's world, which publishes grades as
`serve` does, then `defiscope serve` on it): the grades table (a grade the formula could not give shows why), each
factor's bar as wide as its percentile and each missing factor's reason, the history chart's points, the signals,
and the evaluation's "too short" message (a day is far from the months the walk-forward needs).

On a long published history with planted skill (`evaluated_store`: 272 daily publications through the real
publisher, served by the API in a thread): grades with values, bars, the history of a protocol picked in the
selector, the signals, and the evaluation report — every figure of the table and the points of both plots.
On a store with nothing published: the API's messages, and no table or chart.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from defiscope.api import ApiSettings, create_app
from defiscope.devnet import Devnet
from tests.analytics.grades.evaluated_store import evaluated_store
from tests.api.serverkit import serving as serving_app
from tests.devnet.helpers import cli, seeded_data_dir
from tests.service.conftest import clean_env
from tests.web.conftest import Served, require_chromium, shoot

require_chromium()

from playwright.sync_api import Page  # noqa: E402  (after the chromium check)

#: Six walk-forward test blocks of the investor grade need 60 + 6 x 30 + 30 daily publications; two days more.
EVALUATED_DAYS = 272
#: A variant's figures as the page's table shows them: (cell class, the figure in the report, its text).
FIGURES = (
    ("ic", lambda v: _part(v["ic"], "mean"), lambda x: f"{x:.3f}"),
    ("t_statistic", lambda v: _part(v["ic"], "t_statistic"), lambda x: f"{x:.2f}"),
    ("p_value", lambda v: _part(v["ic"], "p_value"), lambda x: f"{x:.3f}"),
    ("hit_rate", lambda v: v["hit_rate"], lambda x: f"{x * 100:.1f}%"),
    ("top_minus_bottom", lambda v: v["top_minus_bottom"], lambda x: f"{x * 100:.2f}%"),
    ("turnover", lambda v: v["turnover"], lambda x: f"{x * 100:.1f}%"),
    ("sharpe", lambda v: v["sharpe"], lambda x: f"{x:.2f}"),
    ("deflated_sharpe", lambda v: _part(v["deflated_sharpe"], "probability"), lambda x: f"{x:.3f}"),
)


def _part(figure: Any, name: str) -> Any:
    return figure if "unavailable" in figure else figure[name]


@pytest.fixture(scope="module")
def devnet_server(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`serve` on a data dir whose devnet ran a simulated day first (three publications, 12 h apart)."""
    home = seeded_data_dir(devnet, tmp_path_factory.mktemp("grades-devnet") / "home")
    simulate = cli("devnet", "simulate", "--days", "1", "--tick", "12h", "--sample-every", "12h", "--seed", "3")
    child = subprocess.run(simulate, env=clean_env(home), capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr
    served = Served(home)
    try:
        served.start()
        yield served.url
    finally:
        served.stop()


@pytest.fixture(scope="module")
def evaluated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = evaluated_store(tmp_path_factory.mktemp("grades-evaluated"), days=EVALUATED_DAYS)
    with serving_app(create_app(ApiSettings(database_url=url))) as base:
        yield base


def test_the_grades_of_a_devnet_history_are_the_apis(devnet_server: str, page: Page, tmp_path: Path) -> None:
    published = httpx.get(f"{devnet_server}/v1/grades").json()
    history = httpx.get(f"{devnet_server}/v1/grades/aave/history").json()["history"]
    # A publication at the first block (the world's head: wall-clock time), then at each 12 h sample 6 h or more
    # after the newest: the sample at the next 12 h mark is published only when the run starts 6 h or more before
    # it, so the day holds 2 or 3 by the hour the test runs.
    times = sorted(entry["block"]["timestamp"] for entry in history)
    assert len(times) in (2, 3)
    assert all(later - earlier >= 6 * 3600 for earlier, later in pairwise(times))
    page.goto(f"{devnet_server}/#/grades")
    page.wait_for_selector("#grades-table tbody tr[data-slug]")
    _table_is_the_document(page, published)
    shown = [f for g in published["grades"] for f in g["factors"] if f["percentile"] is not None]
    assert shown, "a simulated day ranks some factors (liquidity, TVL share)"
    slug = published["grades"][0]["slug"]
    _history_is_the_apis(page, devnet_server, slug)
    _signals_are_the_apis(page, devnet_server)
    too_short = httpx.get(f"{devnet_server}/v1/grades/evaluation")
    assert too_short.status_code == 409
    message = page.locator("#grades-eval-message")
    message.wait_for()
    assert message.inner_text() == f"No evaluation yet: {too_short.json()['error']['problem']}."
    assert page.locator("#grades-eval-report").is_hidden()
    shoot(page, tmp_path, "dashboard-grades-devnet")


def test_a_long_history_shows_grades_signals_and_the_evaluation(
    evaluated_server: str, page: Page, tmp_path: Path
) -> None:
    published = httpx.get(f"{evaluated_server}/v1/grades").json()
    page.goto(f"{evaluated_server}/#/grades")
    page.wait_for_selector("#grades-eval tbody tr")
    _table_is_the_document(page, published)
    graded = [g for g in published["grades"] if g["trader_grade"] is not None]
    assert len(graded) >= 4, "the planted factors carry over half of each grade's weight"
    _history_is_the_apis(page, evaluated_server, published["grades"][0]["slug"])
    page.select_option("#grades-slug", "curve")  # another protocol's history, through the selector
    page.wait_for_function("() => document.getElementById('grades-history-chart').dataset.slug === 'curve'")
    assert page.evaluate("() => location.hash") == "#/grades/curve"
    _history_is_the_apis(page, evaluated_server, "curve")
    signals = _signals_are_the_apis(page, evaluated_server)
    assert signals, "the planted market moves grades across their thresholds"
    _evaluation_is_the_apis(page, httpx.get(f"{evaluated_server}/v1/grades/evaluation").json())
    shoot(page, tmp_path, "dashboard-grades")


def _table_is_the_document(page: Page, published: dict[str, Any]) -> None:
    """Row per graded protocol, grades (or why not), each factor's bar width = its percentile, or its reason."""
    assert page.locator("#grades-block").get_attribute("data-block") == str(published["block"]["number"])
    rows = page.locator("#grades-table tbody tr")
    assert [rows.nth(i).get_attribute("data-slug") for i in range(rows.count())] == [
        g["slug"] for g in published["grades"]
    ]
    for entry in published["grades"]:
        row = page.locator(f'#grades-table tr[data-slug="{entry["slug"]}"]')
        for horizon in ("trader", "investor"):
            grade, shown = entry[f"{horizon}_grade"], row.locator(f"td.grade-{horizon}")
            if grade is None:  # why, clamped to three lines on the page and whole on hover
                assert shown.inner_text().startswith("—")
                assert shown.get_attribute("title") == entry[f"{horizon}_grade_missing"]
                assert entry[f"{horizon}_grade_missing"] in (shown.text_content() or "")
            else:
                assert shown.inner_text() == f"{grade:.1f}"
                assert float(shown.get_attribute("data-grade") or "nan") == grade
        seen = row.evaluate(
            """(tr) => [...tr.querySelectorAll('.factor')].map((f) => {
                const bar = f.querySelector('.bar'), fill = f.querySelector('.fill');
                return {name: f.dataset.name, weight: Number(f.dataset.weight), missing: f.dataset.missing ?? null,
                  percentile: f.dataset.percentile === undefined ? null : Number(f.dataset.percentile),
                  share: bar ? fill.getBoundingClientRect().width / bar.getBoundingClientRect().width : null,
                  text: f.innerText}; })"""
        )
        assert [s["name"] for s in seen] == [f["name"] for f in entry["factors"] if f["horizon"] == "trader"] + [
            f["name"] for f in entry["factors"] if f["horizon"] == "investor"
        ]
        by_name = {s["name"]: s for s in seen}
        for factor in entry["factors"]:
            bar = by_name[factor["name"]]
            assert bar["weight"] == factor["weight"]
            assert f"w {round(factor['weight'] * 100)}%" in bar["text"]
            if factor["percentile"] is None:  # its reason, and no bar at all (not a bar of 0)
                assert bar["missing"] == factor["missing_reason"]
                assert bar["share"] is None
            else:
                assert bar["percentile"] == factor["percentile"]
                assert bar["share"] == pytest.approx(factor["percentile"] / 100, abs=0.005)


def _history_is_the_apis(page: Page, server: str, slug: str) -> None:
    history = httpx.get(f"{server}/v1/grades/{slug}/history").json()["history"]
    page.wait_for_function(
        f"() => Chart.getChart('grades-history-chart')?.canvas.dataset.slug === {json.dumps(slug)}"
        f" && Chart.getChart('grades-history-chart').data.labels.length === {len(history)}"
    )
    drawn = page.evaluate(
        "() => { const c = Chart.getChart('grades-history-chart');"
        " return {labels: c.data.labels, sets: c.data.datasets.map((d) => [d.label, d.data])}; }"
    )
    assert drawn["labels"] == [str(p["block"]["number"]) for p in history]
    assert drawn["sets"] == [
        ["trader", [p["trader_grade"] for p in history]],
        ["investor", [p["investor_grade"] for p in history]],
    ]


def _signals_are_the_apis(page: Page, server: str) -> list[dict[str, Any]]:
    signals = httpx.get(f"{server}/v1/signals", params={"limit": 20}).json()["signals"]
    rows = page.locator("#grades-signals tbody tr")
    if not signals:
        assert rows.count() == 1
        assert rows.first.inner_text() == "no signal published yet"
        return signals
    seen = page.evaluate(
        "() => [...document.querySelectorAll('#grades-signals tbody tr')].map((tr) => ({...tr.dataset,"
        " movers: tr.querySelector('td.movers').innerText}))"
    )
    assert [(s["entity"], int(s["block"]), s["horizon"], s["state"], float(s["grade"])) for s in seen] == [
        (s["entity"], s["block"], s["horizon"], s["state"], s["grade"]) for s in signals
    ]
    for shown, signal in zip(seen, signals, strict=True):
        moved = ", ".join(f"{m['name']} {m['change']:+.1f}" for m in signal["movers"])
        assert shown["movers"] == (moved or "—")
    return signals


def _evaluation_is_the_apis(page: Page, report: dict[str, Any]) -> None:
    assert page.locator("#grades-eval-message").is_hidden()
    assert page.locator("#grades-eval-summary").inner_text().startswith(f"{report['publications']} publications")
    for grade in report["grades"]:
        for variant in grade["variants"]:
            row = page.locator(f'#grades-eval tr[data-horizon="{grade["horizon"]}"][data-variant="{variant["name"]}"]')
            for key, figure_of, text_of in FIGURES:
                _figure_is(row.locator(f"td.figure-{key}"), figure_of(variant), text_of)
            _figure_is(row.locator("td.figure-signal_hit_rate"), grade["signal_hit_rate"], lambda x: f"{x * 100:.1f}%")
    formulas = [(g["horizon"], next(v for v in g["variants"] if v["name"] == "formula")) for g in report["grades"]]
    trader = dict(formulas)["trader"]
    assert trader["ic"]["mean"] > 0, trader["ic"]  # the planted skill, as the API says
    plots = page.evaluate(
        "() => Object.fromEntries(['grades-ic-chart', 'grades-spread-chart'].map((id) =>"
        " [id, Chart.getChart(id).data.datasets.map((d) => [d.label, d.data])]))"
    )
    assert plots["grades-ic-chart"] == [
        [horizon, [{"x": p["block"], "y": p["ic"]} for p in v["ic_by_period"]]] for horizon, v in formulas
    ]
    assert plots["grades-spread-chart"] == [
        [horizon, [{"x": p["block"], "y": p["cumulative"]} for p in v["top_minus_bottom_by_period"]]]
        for horizon, v in formulas
    ]


def _figure_is(shown: Any, figure: Any, text_of: Any) -> None:
    """A number shown rounded (its exact value in data-value), or "n/a" with the API's reason."""
    if isinstance(figure, dict):
        assert shown.inner_text() == "n/a"
        assert shown.get_attribute("data-unavailable") == figure["unavailable"]
        return
    assert float(shown.get_attribute("data-value")) == figure
    assert shown.inner_text() == text_of(figure)


def test_nothing_published_yet_says_so(page: Page, tmp_path: Path) -> None:
    """A store without publications: the API's 404 and 409 messages on the page, no table, no chart, no 0."""
    app = create_app(ApiSettings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with serving_app(app) as server:
        none = httpx.get(f"{server}/v1/grades")
        assert none.status_code == 404
        page.goto(f"{server}/#/grades")
        page.wait_for_selector("#grades-none:not([hidden])")
        assert page.locator("#grades-none").inner_text() == none.json()["error"]["problem"]
        assert page.locator("#grades-table").is_hidden()
        assert page.evaluate("() => Chart.getChart('grades-history-chart') === undefined")
        assert page.locator("#grades-signals tbody tr").inner_text() == "no signal published yet"
        problem = httpx.get(f"{server}/v1/grades/evaluation").json()["error"]["problem"]
        assert page.locator("#grades-eval-message").inner_text() == f"No evaluation yet: {problem}."
