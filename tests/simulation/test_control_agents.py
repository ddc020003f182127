"""The simulation's rare changes of control take the real paths (a Safe scheduling on EigenLayer's timelock; Compound's
and Uniswap's governors), and the control reads then show the new implementation, delay or admin, with the upgrade
in the proxy's Upgraded history."""

from __future__ import annotations

from collections.abc import Callable

from structlog.testing import capture_logs

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.agents import ControlAgents, GovernanceAgents
from defiscope.devnet.agents.governance import EXECUTED
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.governance import TIMELOCK_DELAY
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import admin_chain, classify
from defiscope.protocols.control.profile import control_surface, upgrades_of
from defiscope.protocols.control.proxy import read_proxy

#: Simulated seconds between changes that make one due every tick (the default is a week).
EVERY_TICK = 1
NEVER = 10**15


async def _reader(client: ChainClient) -> Reader:
    return Batcher(await client.snapshot()).reader("control")


def _run_until(sim: Simulation, done: Callable[[], bool], most: int) -> None:
    sim.start()
    try:
        for _ in range(most):
            sim.tick()
            if done():
                return
    finally:
        sim.stop()
    raise AssertionError(f"not done after {most} ticks")


async def test_eigenlayer_upgrade_delay_and_admin_changes_show_in_the_control_reads(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    control = ControlAgents(every_seconds=EVERY_TICK)
    sim = Simulation(eth_chain, SimulationConfig(seed=5, trades_per_tick=0, lp_every=0, agents=(control,)))

    def three_done() -> bool:
        if control.made == 3 and control.clock is not None:
            control.clock.every_seconds = NEVER  # one change of each kind, no more
        return len(control.changes) == 3

    with capture_logs() as logs:
        _run_until(sim, three_done, 20)
    upgrade, delay, admin = control.changes
    assert [c.kind for c in control.changes] == ["upgrade", "delay", "admin"]
    changed = [e for e in logs if e["event"] == "devnet.control_changed"]
    assert [e["kind"] for e in changed] == ["upgrade", "delay", "admin"]

    reader = await _reader(client)
    contracts = eth_chain.contracts
    upgraded = contracts[upgrade.target]
    assert (await read_proxy(reader, upgraded)).implementation == upgrade.value
    history = (await upgrades_of(reader, [upgraded]))[upgraded]
    assert history[-1].implementation == upgrade.value
    assert history[-1].block == upgrade.block

    assert delay.target == "EigenLayerTimelock"
    assert int(delay.value) != TIMELOCK_DELAY
    assert (await classify(reader, contracts["EigenLayerTimelock"])).delay_seconds == int(delay.value)

    handed = contracts[admin.target]
    proxy = await read_proxy(reader, handed)
    assert proxy.admin is not None
    chain = await admin_chain(reader, proxy.admin)
    assert [(link.kind, link.address) for link in chain] == [
        ("contract", proxy.admin),
        ("timelock", admin.value),  # the new timelock, with the same Safe proposing
        ("multisig", contracts["EigenLayerOperationsSafe"]),
    ]
    assert admin.value != contracts["EigenLayerTimelock"]


async def test_governance_upgrades_a_comet_and_changes_a_timelock_delay_through_proposals(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    governance = GovernanceAgents(propose_every=NEVER, control_every=EVERY_TICK)
    sim = Simulation(eth_chain, SimulationConfig(seed=5, trades_per_tick=0, lp_every=0, agents=(governance,)))
    comets = sorted(a for n, a in eth_chain.contracts.items() if n.startswith("CompoundV3Comet:"))
    before = {c: (await read_proxy(await _reader(client), c)).implementation for c in comets}

    def executed() -> bool:
        if governance.control_clock is not None:
            governance.control_clock.every_seconds = NEVER  # one round of control proposals
        control = [p for p in governance.proposals if p.control]
        return len(control) == 2 and all(p.state == EXECUTED for p in control)

    _run_until(sim, executed, 20)
    by_protocol = {p.protocol: p for p in governance.proposals if p.control}
    assert by_protocol["Compound"].kinds == ("upgrade",)
    assert by_protocol["Uniswap"].kinds == ("delay",)

    reader = await _reader(client)
    after = {c: (await read_proxy(reader, c)).implementation for c in comets}
    (upgraded,) = [c for c in comets if after[c] != before[c]]
    history = (await upgrades_of(reader, [upgraded]))[upgraded]
    # The deployment's two (the first, then the one naming the timelock governor), then the proposal's.
    assert [u.implementation for u in history[1:]] == [before[upgraded], after[upgraded]]
    assert len(history) == 3
    comet = sim.sender.contract(contract_artifact("Comet"), upgraded).functions
    assert comet.governor().call() == eth_chain.contracts["CompoundTimelock"]  # kept across the upgrade
    assert comet.pauseGuardian().call() == eth_chain.contracts["CompoundPauseGuardian"]
    timelock = sim.sender.contract(contract_artifact("GovernanceTimelock"), eth_chain.contracts["UniswapTimelock"])
    delay = timelock.functions.getMinDelay().call()
    assert delay != TIMELOCK_DELAY
    chain = await admin_chain(reader, eth_chain.contracts["UniswapV3Factory"])
    assert [(link.kind, link.delay_seconds) for link in chain] == [
        ("contract", None),
        ("timelock", delay),
        ("governor", None),
    ]


async def test_lidos_dao_upgrades_steth_through_a_vote_and_the_set_app_history_shows_it(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    control = ControlAgents(every_seconds=NEVER, lido_every_seconds=EVERY_TICK)
    sim = Simulation(eth_chain, SimulationConfig(seed=5, trades_per_tick=0, lp_every=0, agents=(control,)))
    _run_until(sim, lambda: len(control.changes) == 1, 5)
    (upgrade,) = control.changes
    assert (upgrade.protocol, upgrade.kind, upgrade.target) == ("Lido", "upgrade", "LidoStETH")
    surface = await control_surface(await _reader(client), deployment, "lido")
    (steth,) = [c for c in surface.contracts if c.proxy.address == eth_chain.contracts["LidoStETH"]]
    assert steth.proxy.implementation == upgrade.value
    assert (steth.upgrades[-1].block, steth.upgrades[-1].implementation) == (upgrade.block, upgrade.value)
    assert steth.admin_chain[-1].kind == "governor"  # still the Voting's
    # stETH still answers as Lido with the new code: its storage stayed in the proxy.
    lido = sim.sender.contract(contract_artifact("Lido"), eth_chain.contracts["LidoStETH"]).functions
    assert lido.getTotalPooledEther().call() > 0
