"""The risk hook on the devnet with the real indexer: the first indexed block scores every protocol; handing the
Uniswap V3 factory from its timelock to an EOA (the real factory's setOwner) is seen from its OwnerChanged event at
the next block, moves the control score and stores a change naming the input and the rule (so does a cToken, found at
run time, handed to an EOA; so does Compound V2's price oracle replaced by `_setPriceOracle`, seen from the
Comptroller's NewPriceOracle); a block without a control event, before the interval, is not scored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eth_utils import to_checksum_address

from defiscope.analytics.risk import hook
from defiscope.analytics.risk.facts import known_slugs
from defiscope.analytics.risk.history import change_log
from defiscope.analytics.risk.hook import RiskHook, scored_slugs
from defiscope.chain.feed import LogFeed
from defiscope.deployments import Deployment
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact, load_npm_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control import rounds
from defiscope.protocols.surface import event_topic
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.store.risk import RiskStore
from defiscope.tvl.engine import TvlEngine
from tests.service.conftest import make_engine

FACTORY_ARTIFACT = "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json"
NEW_OWNER = to_checksum_address("0x" + "5e" * 20)


@pytest.fixture
async def engine(eth_chain: DevnetChain, deployment: Deployment) -> AsyncIterator[TvlEngine]:
    built = make_engine(deployment, eth_chain.rpc_url)
    built.feed = LogFeed(1)  # as serve gives it: the hook's control topics ride on the shared feed
    yield built
    await built.client.aclose()


@pytest.fixture
def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    opened = Repository.open(f"sqlite:///{tmp_path / 'risk.db'}")
    yield opened  # type: ignore[misc]
    opened.close()


async def _index(indexer: Indexer, hook: RiskHook) -> int:
    *_, newest = await indexer.run_once()  # every block since the last run (a handover takes two)
    await hook.idle()
    return newest.block.number


async def test_an_admin_handed_to_an_eoa_moves_the_score_and_is_logged(
    engine: TvlEngine, repo: Repository, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    hook = RiskHook(repo, every_seconds=10**9)  # only control events trigger after the first score
    indexer = Indexer({1: engine}, repo, hooks=(hook,))
    store = RiskStore(repo.engine)
    first = await _index(indexer, hook)
    slugs = scored_slugs(engine)
    assert "uniswap-v3" in slugs
    assert set(slugs) <= set(known_slugs())
    assert store.scored_slugs(1) == sorted(slugs)  # every protocol scored at the first block
    before = store.latest("uniswap-v3", 1)
    assert before is not None
    assert before.block.number == first
    control_before = before.profile["pillars"][0]
    assert control_before["name"] == "control"

    sender = Sender.connect(eth_chain.rpc_url)
    factory = sender.contract(load_npm_artifact(FACTORY_ARTIFACT), deployment.contracts["UniswapV3Factory"])
    timelock = to_checksum_address(deployment.contracts["UniswapTimelock"])
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(factory.functions.setOwner(NEW_OWNER), sender=timelock)
    changed_at = await _index(indexer, hook)

    after = store.latest("uniswap-v3", 1)
    assert after is not None
    assert after.block.number == changed_at
    control_after = after.profile["pillars"][0]
    assert control_after["score"] < control_before["score"]
    log = [(block, change) for block, change in change_log(repo, "uniswap-v3", 1) if block == changed_at]
    control = next(change for _, change in log if change.subject == "control")
    assert control.rule == "control.eoa-no-delay"
    assert (control.before, control.after) == (control_before["score"], control_after["score"])
    factory_address = deployment.contracts["UniswapV3Factory"]
    assert f"control/Uniswap V3 factory ({factory_address}).admin_chain" in control.input
    assert f"eoa {NEW_OWNER}" in control.input
    factory_entry = next(c for c in after.profile["control"] if c["address"] == factory_address)
    assert factory_entry["admin_chain"] == [
        {
            "address": NEW_OWNER,
            "type": "eoa",
            "threshold": None,
            "delay_seconds": None,
            "pending_owner": None,
            "conditional": [],
        }
    ]
    # Protocols whose control did not move are scored at that block too, but log no change.
    aave = change_log(repo, "aave-v3", 1)
    assert [(block, c.input) for block, c in aave] == [(first, "first score")]

    rpc(eth_chain.rpc_url, "evm_mine")
    quiet = await _index(indexer, hook)
    latest = store.latest("uniswap-v3", 1)
    assert latest is not None
    assert latest.block.number == changed_at < quiet  # no control event, interval not reached: not scored


async def test_a_longer_timelock_delay_raises_governance_but_not_control_held_by_the_oracles_safe(
    engine: TvlEngine, repo: Repository, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    hook = RiskHook(repo, every_seconds=10**9)
    indexer = Indexer({1: engine}, repo, hooks=(hook,))
    await _index(indexer, hook)
    before = RiskStore(repo.engine).latest("compound-v2", 1)
    assert before is not None
    scores = {p["name"]: p["score"] for p in before.profile["pillars"]}

    # OpenZeppelin's TimelockController changes its delay only through itself (a scheduled operation); the
    # timelock is impersonated to make that call, which emits MinDelayChange.
    sender = Sender.connect(eth_chain.rpc_url)
    timelock = to_checksum_address(deployment.contracts["CompoundTimelock"])
    contract = sender.contract(contract_artifact("GovernanceTimelock"), timelock)
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(contract.functions.updateDelay(3 * 86400), sender=timelock)
    changed_at = await _index(indexer, hook)

    after = RiskStore(repo.engine).latest("compound-v2", 1)
    assert after is not None
    assert after.block.number == changed_at
    now = {p["name"]: p["score"] for p in after.profile["pillars"]}
    # The Comptroller's chain is a governor behind 3 days now (+30), but the protocol's weakest contract is its
    # price oracle, owned by the community multisig Safe with no timelock (as on mainnet): control does not move.
    comptroller = deployment.contracts["CompoundV2Comptroller"]
    entry = next(c for c in after.profile["control"] if c["address"] == comptroller)
    assert [link["delay_seconds"] for link in entry["admin_chain"]] == [259200, None]
    control = next(p for p in after.profile["pillars"] if p["name"] == "control")
    assert now["control"] == scores["control"]
    assert "Comptroller oracle" in control["evidence"]
    assert f"ends at multisig {deployment.contracts['CompoundPauseGuardian']}" in control["evidence"]
    assert now["governance"] == scores["governance"] + 20  # timelock delay >= 2 days
    moved = {c.subject: c for block, c in change_log(repo, "compound-v2", 1) if block == changed_at}
    assert set(moved) == {"governance", "composite"}
    assert moved["governance"].input == "governance/timelock_delay: 10 -> 259200"
    assert moved["composite"].after is not None
    assert moved["composite"].before is not None
    assert moved["composite"].after > moved["composite"].before


async def test_a_ctoken_handed_to_an_eoa_is_seen_by_the_hook_from_its_new_admin_event(
    engine: TvlEngine, repo: Repository, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """A market found at run time (no registry entry of the adapter's) moves the stored score like a fixed contract."""
    hook = RiskHook(repo, every_seconds=10**9)  # only control events trigger after the first score
    indexer = Indexer({1: engine}, repo, hooks=(hook,))
    store = RiskStore(repo.engine)
    await _index(indexer, hook)
    before = store.latest("compound-v2", 1)
    assert before is not None
    victim, timelock = deployment.contracts["CompoundV2cToken:WBTC"], deployment.contracts["CompoundTimelock"]
    assert any(victim in c.get("addresses", ()) for c in before.score["control"])  # inspected from the first score

    sender = Sender.connect(eth_chain.rpc_url)
    market = sender.contract(contract_artifact("CErc20"), victim).functions
    eoa = sender.accounts[5]
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(market._setPendingAdmin(eoa), sender=timelock)  # NewPendingAdmin: a control event
    nominated_at = await _index(indexer, hook)

    # Nominated, not yet accepted: the EOA may accept at any block, so the score moves now (docs/risk.md).
    nominated = store.latest("compound-v2", 1)
    assert nominated is not None
    assert nominated.block.number == nominated_at
    (group,) = [c for c in nominated.score["control"] if victim in c.get("addresses", ())]
    assert (group["addresses"], group["exception"], group["kind"]) == ([victim], True, "cToken")
    assert group["pending_owner"]["address"] == eoa
    log = [change for block, change in change_log(repo, "compound-v2", 1) if block == nominated_at]
    composite = next(change for change in log if change.subject == "composite")
    assert composite.rule == "override.eoa-upgrade-no-delay"
    assert composite.after is not None
    assert composite.after <= 30

    with sender.impersonating(eoa, gas_money=10**18):
        sender.send(market._acceptAdmin(), sender=eoa)  # NewAdmin(address,address): a control event
    changed_at = await _index(indexer, hook)
    after = store.latest("compound-v2", 1)
    assert after is not None
    assert after.block.number == changed_at
    (group,) = [c for c in after.score["control"] if victim in c.get("addresses", ())]
    assert [(link["type"], link["address"]) for link in group["admin_chain"]] == [("eoa", eoa)]
    assert group["pending_owner"] is None
    assert after.profile["composite"] <= 30


async def test_a_new_price_oracle_is_scored_at_the_block_it_is_set(
    engine: TvlEngine, repo: Repository, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    hook = RiskHook(repo, every_seconds=10**9)  # only control events trigger after the first score
    indexer = Indexer({1: engine}, repo, hooks=(hook,))
    store = RiskStore(repo.engine)
    await _index(indexer, hook)
    sender = Sender.connect(eth_chain.rpc_url)
    oracle = sender.deploy(contract_artifact("CompoundV2Oracle"), [])  # its deployer, an EOA, owns it
    deployed_at = await _index(indexer, hook)  # its OwnershipTransferred is a control event: scored, not yet set
    before = store.latest("compound-v2", 1)
    assert before is not None
    assert before.block.number == deployed_at
    assert oracle.address not in {c["address"] for c in before.profile["control"]}
    rpc(eth_chain.rpc_url, "evm_mine")
    quiet = await _index(indexer, hook)
    assert store.latest("compound-v2", 1) == before  # the negative control: no control event, not scored
    comptroller = sender.contract(contract_artifact("Comptroller"), deployment.contracts["CompoundV2Comptroller"])
    timelock = to_checksum_address(deployment.contracts["CompoundTimelock"])  # the Comptroller's admin
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(comptroller.functions._setPriceOracle(oracle.address), sender=timelock)
    changed_at = await _index(indexer, hook)

    after = store.latest("compound-v2", 1)
    assert after is not None
    assert changed_at > quiet
    assert after.block.number == changed_at
    entry = next(c for c in after.profile["control"] if c["address"] == oracle.address)
    assert [(link["type"], link["address"]) for link in entry["admin_chain"]] == [("eoa", sender.owner)]
    control = next(c for b, c in change_log(repo, "compound-v2", 1) if b == changed_at and c.subject == "control")
    assert f"control/Comptroller oracle ({oracle.address}).admin_chain: - -> none proxy; eoa {sender.owner}" in (
        control.input
    )
    assert control.after is not None
    assert control.before is not None
    assert control.after < control.before


def test_every_event_the_control_reads_scan_makes_the_hook_score_again() -> None:
    # A change a profile would read (an EigenLayer pauser, a Comptroller's pause guardian, ...) is a control event.
    assert set(rounds.CONTROL_TOPICS) <= set(hook.CONTROL_TOPICS)
    for signature in ("PauserStatusChanged(address,bool)", "NewPauseGuardian(address,address)"):
        assert "0x" + event_topic(signature).hex() in hook.CONTROL_TOPICS
