"""benchmarks/risk_profiles.py on the suite's devnet: the code before (`LEGACY_COMMIT`, from git) still loads and
runs, every way reads what the others read (the script refuses otherwise), and its figures hold issue 18's target."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from defiscope.deployments import Deployment
from defiscope.devnet.world import DevnetChain
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.analytics.risk.test_risk_requests import MAX_REQUESTS
from tests.service.conftest import make_engine

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "risk_profiles.py"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import risk_profiles

    # The code before is read from git: a clone without that history (a shallow one) cannot run the comparison.
    known = subprocess.run(["git", "cat-file", "-e", f"{risk_profiles.LEGACY_COMMIT}^{{commit}}"], check=False)
    if known.returncode != 0:
        pytest.skip(f"this clone lacks commit {risk_profiles.LEGACY_COMMIT} (shallow?): the code before is not here")
    return risk_profiles


@pytest.fixture
async def engine(eth_chain: DevnetChain, deployment: Deployment) -> AsyncIterator[TvlEngine]:
    built = make_engine(deployment, eth_chain.rpc_url)
    yield built
    await built.client.aclose()


async def test_the_script_s_ways_agree_and_the_way_now_holds_the_target(
    bench: ModuleType, engine: TvlEngine, eth_chain: DevnetChain, tmp_path: Path
) -> None:
    repo = Repository.open(f"sqlite:///{tmp_path / 'risk.db'}")
    try:
        figures, block, proposals = await bench.runs(engine, repo, 1, eth_chain.rpc_url)
    finally:
        repo.close()
    assert block > engine.deployment.first_block
    assert proposals >= 1  # the script's own proposal, whose quorum the profiles read
    assert [len(rows) for rows in figures] == [1] * len(bench.ROWS)
    (alone, shared, *now) = [rows[0] for rows in figures]
    for requests, seconds in now:
        assert 0 < requests <= MAX_REQUESTS
        assert seconds > 0
    # One protocol at a time, each with its own rounds: more requests than all of them together.
    assert alone[0] > max(requests for requests, _ in now)
    assert shared[0] >= now[0][0]
