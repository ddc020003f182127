"""Devnet fixtures shared by the whole suite.

``devnet`` starts chains 1 and 56 once per session from the shared world cache (deploying it on the
first run on a machine); every test that uses it runs inside ``evm_snapshot``/``evm_revert`` on each
chain, so tests may send transactions without seeing each other's.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog
from hypothesis import settings

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet, DevnetChain, start_devnet
from defiscope.devnet.anvil import HISTORY_STATES_ENV, rpc
from defiscope.devnet.deployment import devnet_deployment

# Hypothesis's 200 ms deadline is wall time: on a loaded 2-core CI machine it fails correct examples (a first
# scipy call alone can take longer). Correctness is what the properties check; speed has its own benchmarks.
settings.register_profile("defiscope", deadline=None)
settings.load_profile("defiscope")

# Every test's evm_snapshot/evm_revert leaves one more entry for the base block in anvil's state-eviction queue
# (`defiscope.devnet.anvil.HISTORY_STATES_ENV`): with the default bound, a worker's devnet would drop the base
# block's state after ~500 reverted tests. The states kept stay few (a revert drops its blocks' states).
os.environ.setdefault(HISTORY_STATES_ENV, "100000")


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    with start_devnet((1, 56), show_progress=False) as running:
        yield running


@pytest.fixture(autouse=True)
def structlog_defaults() -> Iterator[None]:
    """In-process CLI runs configure structlog (a level filter drops info events); later tests capture logs."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def chain_snapshot(request: pytest.FixtureRequest) -> Iterator[None]:
    """Revert every chain after each test that uses the devnet (a no-op for other tests)."""
    if "devnet" not in request.fixturenames:
        yield
        return
    running: Devnet = request.getfixturevalue("devnet")
    snapshots = {chain.rpc_url: rpc(chain.rpc_url, "evm_snapshot") for chain in running.chains}
    accounts = {chain.rpc_url: set(_listed(chain.rpc_url)) for chain in running.chains}
    yield
    for url, snapshot in snapshots.items():
        if rpc(url, "evm_revert", [snapshot]) is not True:
            raise RuntimeError(f"evm_revert {snapshot} on {url} failed")
        # evm_revert keeps impersonations, and anvil lists impersonated addresses in eth_accounts, which
        # later tests take their users from: end the ones this test started.
        for address in set(_listed(url)) - accounts[url]:
            rpc(url, "anvil_stopImpersonatingAccount", [address])


@pytest.fixture
def eth_chain(devnet: Devnet) -> DevnetChain:
    return devnet.chain(1)


@pytest.fixture
def bnb_chain(devnet: Devnet) -> DevnetChain:
    return devnet.chain(56)


@pytest.fixture
def deployment(eth_chain: DevnetChain) -> Deployment:
    """Chain 1's devnet registry, as adapters and price sources get it."""
    return devnet_deployment(eth_chain)


@pytest.fixture
async def client(eth_chain: DevnetChain) -> AsyncIterator[ChainClient]:
    """A chain client of the devnet's chain 1."""
    async with ChainClient.connect(eth_chain.chain_id, [eth_chain.rpc_url]) as chain_client:
        yield chain_client


def _listed(url: str) -> list[str]:
    accounts = rpc(url, "eth_accounts")
    assert isinstance(accounts, list)
    return [str(a) for a in accounts]


def mine_later(url: str, seconds: int = 12) -> None:
    """Mine one block ``seconds`` after the head. A reloaded devnet keeps no state before its load block, and
    after `evm_revert` the next block may share the load block's timestamp: a trailing window (LP fees) then
    spans 0 s. Tests that need a window of some length start with this."""
    rpc(url, "evm_increaseTime", [seconds])
    rpc(url, "evm_mine")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With DEFISCOPE_TEST_TIMELINE=FILE, each phase's start and stop per worker, to see what ran beside a slow test."""
    path = os.environ.get("DEFISCOPE_TEST_TIMELINE")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not path or worker is None:
        return
    line = {"worker": worker, "test": report.nodeid, "when": report.when, "start": report.start, "stop": report.stop}
    with open(path, "a", encoding="utf-8") as timeline:
        timeline.write(json.dumps(line) + "\n")
