"""Contracts found at run time in the control surface and the risk score, on the devnet through the real paths: every
cToken of the Comptroller and every EigenLayer strategy inspected and grouped by the control they share, a cToken
handed to an EOA (`_setPendingAdmin`, then `_acceptAdmin`) or to a contract nobody can classify shows as its own
group and caps the score, a beacon upgrade reaches every strategy, and factory pools are a checked sample."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from defiscope.analytics.risk.profile import RiskProfile, risk_profile
from defiscope.analytics.risk.rules import contract_score
from defiscope.chain.reader import Batcher
from defiscope.deployments.aave_v3_registry import market_suffix
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.eigenlayer import STRATEGY_BEACON
from defiscope.devnet.maker_governance import PAUSE_DELAY
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.aave.market import markets_of
from defiscope.protocols.control.discovered import DiscoveredKind
from defiscope.protocols.control.profile import ControlSurface, control_surface, found_contracts
from defiscope.protocols.maker.surface import JOIN_KIND
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.conftest import engine  # noqa: F401  (fixture reused)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    opened = Repository.open(f"sqlite:///{tmp_path / 'risk.db'}")
    yield opened
    opened.close()


async def _profile(engine: TvlEngine, repo: Repository, slug: str) -> RiskProfile:  # noqa: F811
    """The protocol's profile at the head, with what its snapshot's discovery listed (as the risk hook reads it)."""
    tvl = await engine.snapshot("latest", slugs=[slug])
    found = found_contracts(engine.adapters, tvl.block.number)[slug]
    snapshot = next(s for s in tvl.snapshots if s.slug == slug)
    reader = Batcher(await engine.client.snapshot(tvl.block.number)).reader(f"risk:{slug}")
    return await risk_profile(reader, engine.deployment, slug, snapshot, repo, found=found)


def _kind(surface: ControlSurface, name: str) -> DiscoveredKind:
    (kind,) = [k for k in surface.discovered if k.name == name]
    return kind


def _hand_over(sender: Sender, ctoken: str, timelock: str, to: str) -> None:
    """The cToken's admin moves as on mainnet: its admin names a pending one, who accepts."""
    market = sender.contract(contract_artifact("CErc20"), ctoken).functions
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(market._setPendingAdmin(to), sender=timelock)
    with sender.impersonating(to, gas_money=10**18):
        sender.send(market._acceptAdmin(), sender=to)
    assert market.admin().call() == to


async def test_every_ctoken_is_inspected_and_one_handed_to_an_eoa_is_its_own_group_and_caps_the_score(
    engine: TvlEngine,  # noqa: F811
    repo: Repository,
    eth_chain: DevnetChain,
) -> None:
    contracts = engine.deployment.contracts
    timelock = contracts["CompoundTimelock"]
    markets = {a for n, a in contracts.items() if n.startswith("CompoundV2cToken:")}
    before = await _profile(engine, repo, "compound-v2")
    ctokens = _kind(before.surface, "cToken")
    assert ctokens.rule == "inspected"
    assert {a for g in ctokens.groups for a in g.addresses} == markets  # every market of the Comptroller
    majority = ctokens.groups[0]
    assert not majority.exception
    assert [link.kind for link in majority.control.admin_chain] == ["timelock", "governor"]
    assert all(u.implementation == majority.control.proxy.implementation for _, u in majority.upgrades)
    assert {a for a, _ in majority.upgrades} == set(majority.addresses)  # each delegator's NewImplementation
    assert "override.eoa-upgrade-no-delay" not in {o.rule for o in before.score.overrides}  # the negative control

    sender = Sender.connect(eth_chain.rpc_url)
    victim = contracts["CompoundV2cToken:USDC"]
    eoa = sender.accounts[4]
    _hand_over(sender, victim, timelock, eoa)
    after = await _profile(engine, repo, "compound-v2")
    ctokens = _kind(after.surface, "cToken")
    (odd,) = [g for g in ctokens.groups if victim in g.addresses]
    assert (odd.addresses, odd.exception) == ((victim,), True)
    assert [(link.kind, link.address) for link in odd.control.admin_chain] == [("eoa", eoa)]
    peers = ctokens.groups[0]  # the majority still shares the timelock; the victim left it
    assert victim not in peers.addresses
    assert len(peers.addresses) == len(majority.addresses) - 1
    cap = {o.rule: o for o in after.score.overrides}["override.eoa-upgrade-no-delay"]
    assert victim in cap.why
    assert after.score.composite is not None
    assert after.score.composite <= cap.cap < (before.score.composite or 0)
    control, was = after.score.pillar("control"), before.score.pillar("control")
    assert control.score is not None
    assert was.score is not None
    assert control.score < was.score
    assert f"cToken ({victim}): ends at eoa {eoa}, delay 0 s" in control.evidence  # the weakest contract now
    assert control.inputs[f"cToken ({victim}).admin_chain"] == f"custom proxy; eoa {eoa}; delay 0 s"
    # The profile's JSON shows the exception among the control entries, with its kind and peers' count.
    (entry,) = [c for c in after.to_json()["control"] if c.get("discovered", {}).get("addresses") == [victim]]
    assert entry["discovered"]["exception"] is True
    assert [link["type"] for link in entry["admin_chain"]] == ["eoa"]


async def test_a_ctoken_whose_admin_is_not_understood_is_unknown_and_scored_so(
    engine: TvlEngine,  # noqa: F811
    repo: Repository,
    eth_chain: DevnetChain,
) -> None:
    contracts = engine.deployment.contracts
    sender = Sender.connect(eth_chain.rpc_url)
    victim = contracts["CompoundV2cToken:DAI"]
    weth = engine.deployment.token("WETH").address  # a contract answering none of the classifying calls
    _hand_over(sender, victim, contracts["CompoundTimelock"], weth)
    profile = await _profile(engine, repo, "compound-v2")
    (odd,) = [g for g in _kind(profile.surface, "cToken").groups if victim in g.addresses]
    ((link,),) = [odd.control.admin_chain]
    assert (link.kind, link.address) == ("unknown", weth)
    assert link.why
    control = profile.score.pillar("control")
    assert control.score == 0  # unknown is the worst case, never safe
    assert f"cToken ({victim}): admin {weth} not understood" in control.evidence
    cap = {o.rule: o for o in profile.score.overrides}["override.unknown-admin"]
    assert victim in cap.why
    assert profile.score.composite is not None
    assert profile.score.composite <= cap.cap


async def test_a_strategy_beacon_upgrade_reaches_every_strategy_and_shows_in_their_history(
    engine: TvlEngine,  # noqa: F811
    repo: Repository,
    eth_chain: DevnetChain,
) -> None:
    contracts = engine.deployment.contracts
    sender = Sender.connect(eth_chain.rpc_url)
    beacon_address, timelock = contracts[STRATEGY_BEACON], contracts["EigenLayerTimelock"]
    beacon = sender.contract(npm_artifact("UpgradeableBeacon"), beacon_address).functions
    first = beacon.implementation().call()
    before = _kind((await _profile(engine, repo, "eigenlayer")).surface, "strategy (whitelisted)")
    (group,) = before.groups
    assert (group.control.proxy.kind, group.control.proxy.beacon) == ("beacon", beacon_address)
    assert group.control.proxy.implementation == first
    assert [link.kind for link in group.control.admin_chain] == ["timelock", "multisig"]

    second = sender.deploy(contract_artifact("StrategyBase"), contracts["EigenLayerStrategyManager"])
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(beacon.upgradeTo(second.address), sender=timelock)
    after = _kind((await _profile(engine, repo, "eigenlayer")).surface, "strategy (whitelisted)")
    (group,) = after.groups  # one beacon: every strategy follows it, none is left behind
    assert group.addresses == before.groups[0].addresses
    assert group.control.proxy.implementation == second.address
    for strategy in group.addresses:  # the beacon's Upgraded events are each strategy's history
        assert [u.implementation for a, u in group.upgrades if a == strategy][-2:] == [first, second.address]


def _registered(contracts: dict[str, str], kind: str, market: str) -> set[str]:
    """The devnet registry's tokens of one kind ("AToken", "VariableDebtToken") of one Aave market."""
    prefix = f"AaveV3{kind}{market_suffix(market)}:"
    return {a for n, a in contracts.items() if n.startswith(prefix) and ":" not in n[len(prefix) :]}


async def test_aave_reserve_tokens_are_one_group_per_market_and_an_updated_a_token_is_an_exception(
    engine: TvlEngine,  # noqa: F811
    repo: Repository,
    eth_chain: DevnetChain,
) -> None:
    """Each market's aTokens and variable debt tokens (InitializableImmutableAdminUpgradeabilityProxy) share its
    PoolConfigurator as admin and its implementation; `updateAToken` by a pool admin moves one aside."""
    contracts = engine.deployment.contracts
    before = await _profile(engine, repo, "aave-v3")
    markets = markets_of(engine.deployment)
    assert len(markets) == 3
    for market in markets:
        configurator = contracts[f"AaveV3PoolConfigurator{market_suffix(market.name)}"]
        for kind, name in (("AToken", "aToken"), ("VariableDebtToken", "variable debt token")):
            found = _kind(before.surface, f"{name} ({market.name})")
            (group,) = found.groups  # one shape: no exception
            assert (found.rule, group.exception) == ("inspected", False)
            assert set(group.addresses) == _registered(contracts, kind, market.name)
            assert (group.control.proxy.kind, group.control.proxy.admin) == ("transparent", configurator)
            assert group.control.admin_chain[0].address == configurator
            assert "Aave PoolConfigurator" in (group.control.admin_chain[0].detail or "")
    a_tokens = _kind(before.surface, "aToken (Core)").groups[0]
    # Registered aTokens are inspected in their group, not again as fixed contracts.
    assert not {c.proxy.address for c in before.surface.contracts} & set(a_tokens.addresses)

    sender = Sender.connect(eth_chain.rpc_url)
    victim = contracts["AaveV3AToken:USDC"]
    token = sender.contract(aave_artifact("protocol/tokenization/AToken"), victim).functions
    pool = contracts["AaveV3Pool"]
    # Aave's own next revision of the AToken (its upgrade test's): a revision above the proxy's initialized one.
    second = sender.deploy(aave_artifact("mocks/upgradeability/MockAToken"), pool).address
    configurator = sender.contract(aave_artifact("protocol/pool/PoolConfigurator"), contracts["AaveV3PoolConfigurator"])
    update = (
        token.UNDERLYING_ASSET_ADDRESS().call(),
        token.RESERVE_TREASURY_ADDRESS().call(),
        token.getIncentivesController().call(),
        token.name().call(),
        token.symbol().call(),
        second,
        b"",
    )
    admin = contracts["AaveExecutorLvl1"]  # a POOL_ADMIN of the Core market, as on mainnet
    with sender.impersonating(admin, gas_money=10**18):
        sender.send(configurator.functions.updateAToken(update), sender=admin)

    after = _kind((await _profile(engine, repo, "aave-v3")).surface, "aToken (Core)")
    peers, odd = after.groups
    assert (odd.addresses, odd.exception, peers.exception) == ((victim,), True, False)
    assert set(peers.addresses) == set(a_tokens.addresses) - {victim}
    assert odd.control.proxy.implementation == second != peers.control.proxy.implementation
    assert odd.control.admin_chain == peers.control.admin_chain  # the configurator still administers it
    assert [u.implementation for a, u in odd.upgrades][-1] == second  # its Upgraded event
    assert [u.implementation for a, u in peers.upgrades if a == victim] == []


async def test_maker_joins_share_the_pause_proxys_ward_and_an_eoa_relied_on_one_is_an_exception(
    engine: TvlEngine,  # noqa: F811
    repo: Repository,
    eth_chain: DevnetChain,
) -> None:
    """Every ilk's GemJoin is administered by its wards (Rely events, confirmed with wards()): the pause proxy,
    owned by the DSPause (a timelock), whose authority is the Chief; an EOA a ward relies on one join is a fork, and
    the Vat's too (the join is one of its wards)."""
    contracts = engine.deployment.contracts
    proxy, pause, chief = contracts["MakerPauseProxy"], contracts["MakerPause"], contracts["MakerChief"]
    joins = {a for n, a in contracts.items() if n.startswith("MakerGemJoin:")}
    before = await _profile(engine, repo, "makerdao")
    found = _kind(before.surface, JOIN_KIND)
    (group,) = found.groups
    assert (found.rule, set(group.addresses)) == ("inspected", joins)
    (wards,) = group.control.pause
    assert wards.holders == (proxy,)
    chain = group.control.admin_chain
    assert [(link.kind, link.address) for link in chain] == [
        ("contract", proxy),
        ("timelock", pause),
        ("governor", chief),
    ]
    assert chain[1].delay_seconds == PAUSE_DELAY
    assert chain[1].controllers == (chief,)
    assert "override.eoa-upgrade-no-delay" not in {o.rule for o in before.score.overrides}

    sender = Sender.connect(eth_chain.rpc_url)
    victim, eoa = contracts["MakerGemJoin:ETH-A"], sender.accounts[5]
    join = sender.contract(contract_artifact("GemJoin"), victim).functions
    with sender.impersonating(proxy, gas_money=10**18):  # a ward's rely: the join's own auth check
        sender.send(join.rely(eoa), sender=proxy)
    assert join.wards(eoa).call() == 1

    after = await _profile(engine, repo, "makerdao")
    peers, odd = _kind(after.surface, JOIN_KIND).groups
    assert (odd.addresses, odd.exception, set(peers.addresses)) == ((victim,), True, joins - {victim})
    (fork,) = odd.control.admin_chain
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {proxy: "contract", eoa: "eoa"}
    assert contract_score(odd.control)[:2] == (10, "control.eoa-no-delay")
    control, was = after.score.pillar("control"), before.score.pillar("control")
    assert control.rule == "control.eoa-no-delay"
    # The join is a ward of the Vat: the Vat follows it through its wards, and is as weak.
    (vat,) = [c for c in after.surface.contracts if c.interface == "maker/VatAbstract"]
    (vat_fork,) = vat.admin_chain
    assert dict(zip(vat_fork.controllers, vat_fork.controller_kinds, strict=True)) == {proxy: "contract", eoa: "eoa"}
    assert victim in vat_fork.detail
    assert f"{JOIN_KIND} ({victim})" in control.evidence or f"Vat ({vat.proxy.address})" in control.evidence
    assert control.score is not None
    assert was.score is not None
    assert control.score < was.score


async def test_factory_pools_are_immutable_by_construction_and_a_sample_is_checked(
    engine: TvlEngine,  # noqa: F811
    repo: Repository,
) -> None:
    profile = await _profile(engine, repo, "uniswap-v2")
    pairs = _kind(profile.surface, "pair (each, from PairCreated)")
    listed = found_contracts(engine.adapters, profile.block.number)["uniswap-v2"]["pair (each, from PairCreated)"]
    assert pairs.rule == "by-factory"
    assert pairs.count == len(listed) > 3
    assert "immutable by construction" in pairs.why
    assert "feeTo" in pairs.why
    (checked,) = pairs.groups
    assert checked.addresses == (listed[0], *listed[-2:])  # the first and the newest, not every pair
    assert (checked.control.proxy.kind, checked.control.admin_chain) == ("none", ())


async def test_without_a_discovery_listing_the_kinds_are_reported_not_inspected(engine: TvlEngine) -> None:  # noqa: F811
    reader = Batcher(await engine.client.snapshot()).reader("control")
    surface = await control_surface(reader, engine.deployment, "compound-v2")
    ctokens = _kind(surface, "cToken")
    assert (ctokens.rule, ctokens.count, ctokens.groups) == ("not-listed", None, ())
    assert "not inspected" in ctokens.why
