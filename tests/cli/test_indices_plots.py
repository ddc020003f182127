"""`defiscope indices history` and `--plot`: the live values a tracker stored over thirty synthetic days, as text,
JSON and a PNG or SVG with the three panels; a bad plot file or an index with nothing stored is one line, exit 2."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.analytics.indices.history import Listing, StoreHistory, listings_for
from defiscope.analytics.indices.live import IndexTracker
from defiscope.analytics.indices.loader import load_definitions
from defiscope.analytics.indices.venue import FixedFeeVenue
from defiscope.cli import app
from defiscope.cli.index_plot import PANELS
from defiscope.deployments.mainnet import mainnet
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore
from tests.cli.test_indices import synthetic_store  # noqa: F401  (fixture reused)
from tests.service.conftest import cli  # noqa: F401  (fixture reused)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: defi-tvl without its age and size floors, so thirty days of history build it at once.
YOUNG = (Path(__file__).parents[2] / "src/defiscope/analytics/indices/definitions/defi-tvl.toml").read_text()
YOUNG = YOUNG.replace('id = "defi-tvl"', 'id = "young-tvl"').replace("min_age_days = 90", "min_age_days = 0")
YOUNG = YOUNG.replace("min_tvl_usd = 50_000_000", "min_tvl_usd = 0").replace("min_liquidity_usd = 1_000_000", "")


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    directory = tmp_path / "defs"
    directory.mkdir()
    (directory / "young.toml").write_text(YOUNG)
    return directory


def track(repo: Repository, definitions: Path) -> list[int]:
    """Track young-tvl over the stored history at a 30 bp fixed fee, as `serve`'s hook would; its blocks."""
    deployment = mainnet(1)
    definition = load_definitions(definitions)["young-tvl"]
    weth = deployment.tokens["WETH"]
    hub = Listing("WETH", "Hub", (), weth.address, weth.decimals)
    listings = listings_for(deployment, definition)

    def opened(first: int | None, last: int | None) -> StoreHistory:
        return StoreHistory.load(repo, deployment, listings, first, last, None, extra=[hub])

    decimals = {s: t.decimals for s, t in deployment.tokens.items()}
    values = IndexValueStore(repo.engine)
    tracker = IndexTracker(definition, 1, opened, FixedFeeVenue(Fraction(3, 1000)), decimals, values)
    span = repo.block_span(1)
    assert span is not None
    tracker.advance(span[1])
    assert tracker.status.state == "tracking"
    return [v.block.number for v in values.history("young-tvl", 1)]


def test_history_as_json_text_and_svg(
    cli: CliRunner,  # noqa: F811
    synthetic_store: Repository,  # noqa: F811
    definitions: Path,
    tmp_path: Path,
) -> None:
    blocks = track(synthetic_store, definitions)
    assert len(blocks) == 30
    svg = tmp_path / "live.svg"
    args = ["indices", "history", "young-tvl", "--definitions", str(definitions)]
    result = cli.invoke(app, [*args, "--json", "--plot", str(svg)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [p["block"] for p in shown["points"]] == blocks
    first = shown["points"][0]
    assert first["rebalanced"] is True
    assert first["reason"] is None
    assert set(first["holdings"]) == set(first["weights"])
    assert len(first["holdings"]) >= 5
    assert all(p["value"] is not None for p in shown["points"])
    _assert_panels(svg)
    text = cli.invoke(app, [*args, "--limit", "3"])
    assert text.exit_code == 0, text.output
    assert [int(line.split()[0]) for line in text.stdout.strip().splitlines()] == blocks[-3:]


def test_backtest_plot_png_and_svg(
    cli: CliRunner,  # noqa: F811
    synthetic_store: Repository,  # noqa: F811
    definitions: Path,
    tmp_path: Path,
) -> None:
    for name in ("bt.png", "bt.svg"):
        target = tmp_path / name
        args = ["indices", "backtest", "young-tvl", "--definitions", str(definitions), "--fixed-fee-bp", "30"]
        result = cli.invoke(app, [*args, "--json", "--plot", str(target)])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["metrics"]["tracking_error"] is not None
        if name.endswith(".png"):
            assert target.read_bytes().startswith(PNG_SIGNATURE)
            assert target.stat().st_size > 10_000  # three drawn panels, not an empty canvas
        else:
            _assert_panels(target)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history", "young-tvl", "--plot", "out.pdf"), "--plot out.pdf: the file must end in .png or .svg"),
        (("backtest", "young-tvl", "--plot", "out.jpg"), "--plot out.jpg: the file must end in .png or .svg"),
        (("history", "young-tvl"), "index young-tvl has no stored values on chain 1 in that range"),
        (("history", "nope"), "unknown index 'nope'"),
        (("history", "young-tvl", "--from-block", "9", "--to-block", "3"), "--from-block 9 is after --to-block 3"),
    ],
)
def test_bad_input_is_one_line(
    cli: CliRunner,  # noqa: F811
    synthetic_store: Repository,  # noqa: F811
    definitions: Path,
    args: tuple[str, ...],
    message: str,
) -> None:
    result = cli.invoke(app, ["indices", *args, "--definitions", str(definitions)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def _assert_panels(svg: Path) -> None:
    """A valid SVG whose text holds the three panels' titles and the legends' series."""
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {"".join(node.itertext()).strip() for node in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(PANELS) <= texts
    assert {"index", "equal weight", "WETH"} <= texts
    assert {"UNI", "AAVE"} & texts  # members in the weights' legend
