"""The devnet's upgradeable contracts sit behind the proxies mainnet has, and the control reads find them end to end:
Compound V2's Unitroller and CErc20Delegators, EigenLayer's strategy BeaconProxies, the Comets' and EigenLayer's
managers' TransparentUpgradeableProxies with their ProxyAdmins,
owned by the Compound timelock (then its governor) or by EigenLayer's timelock (then a 3-of-6 Safe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3.exceptions import ContractLogicError

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.compound import V2_MARKETS
from defiscope.devnet.eigenlayer import STRATEGY_BEACON, STRATEGY_TOKENS, whitelisted_strategies
from defiscope.devnet.eigenlayer_admin import MANAGERS, OWNERS, THRESHOLD, operations_owners
from defiscope.devnet.governance import PAUSE_GUARDIAN_THRESHOLD, TIMELOCK_DELAY, pause_guardian_owners
from defiscope.devnet.proxies import proxy_admin
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract, upgrades_of
from defiscope.protocols.surface import ContractUse
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)


async def _reader(client: ChainClient) -> Reader:
    return Batcher(await client.snapshot()).reader("control")


def _chain(control: ContractControl) -> list[tuple[str, str, int | None, int | None]]:
    return [(link.kind, link.address, link.threshold, link.delay_seconds) for link in control.admin_chain]


async def test_compound_v2_comptroller_is_a_unitroller_governed_through_the_timelock(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    address = deployment.contracts["CompoundV2Comptroller"]
    unitroller = Sender.connect(eth_chain.rpc_url).contract(contract_artifact("Unitroller"), address)
    surface = await control_surface(await _reader(client), deployment, "compound-v2")
    (control,) = [c for c in surface.contracts if c.proxy.address == address]
    assert (control.proxy.kind, control.proxy.pattern) == ("custom", "compound-unitroller")
    assert control.proxy.implementation == unitroller.functions.comptrollerImplementation().call()
    assert control.proxy.implementation != address
    assert _chain(control) == [
        ("timelock", deployment.contracts["CompoundTimelock"], None, TIMELOCK_DELAY),
        ("governor", deployment.contracts["CompoundGovernor"], None, None),
    ]
    # Its history: the implementation accepted at deployment (the Unitroller's NewImplementation).
    assert [u.implementation for u in control.upgrades] == [control.proxy.implementation]


async def test_a_comptroller_upgrade_by_its_admin_shows_in_the_unitroller_history(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    address, timelock = deployment.contracts["CompoundV2Comptroller"], deployment.contracts["CompoundTimelock"]
    unitroller = sender.contract(contract_artifact("Unitroller"), address)
    first = unitroller.functions.comptrollerImplementation().call()
    second = sender.deploy(contract_artifact("Comptroller"))
    # Only the admin may set it pending, and only the pending implementation (through _become) accepts it.
    stranger = sender.accounts[3]
    sender.send(unitroller.functions._setPendingImplementation(second.address), sender=stranger)  # Failure, code 1
    assert unitroller.functions.pendingComptrollerImplementation().call() == "0x" + "00" * 20
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(unitroller.functions._setPendingImplementation(second.address), sender=timelock)
        sender.send(second.functions._become(address), sender=timelock)
    surface = await control_surface(await _reader(client), deployment, "compound-v2")
    (control,) = [c for c in surface.contracts if c.proxy.address == address]
    assert control.proxy.implementation == second.address
    assert [u.implementation for u in control.upgrades] == [first, second.address]
    # The market state lives in the Unitroller: the new implementation reads the same markets.
    comptroller = sender.contract(contract_artifact("Comptroller"), address)
    assert comptroller.functions.getAllMarkets().call()


async def test_each_comet_is_a_transparent_proxy_whose_proxy_admin_the_timelock_owns(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    comets = {a for n, a in deployment.contracts.items() if n.startswith("CompoundV3Comet:")}
    assert len(comets) == 4
    reader = await _reader(client)
    surface = await control_surface(reader, deployment, "compound-v3")
    controls = {c.proxy.address: c for c in surface.contracts if c.proxy.address in comets}
    assert set(controls) == comets
    history = await upgrades_of(reader, sorted(comets))
    for comet, control in controls.items():
        assert (control.proxy.kind, control.proxy.pattern) == ("transparent", "eip1967-admin-slot")
        assert control.proxy.admin == proxy_admin(sender, comet)
        assert _chain(control) == [
            ("contract", proxy_admin(sender, comet), None, None),  # OpenZeppelin's ProxyAdmin (Ownable)
            ("timelock", deployment.contracts["CompoundTimelock"], None, TIMELOCK_DELAY),
            ("governor", deployment.contracts["CompoundGovernor"], None, None),
        ]
        # Two implementations so far: the proxy's first, then the one naming the timelock its governor.
        first, governed = [u.implementation for u in history[comet]]
        assert first != governed == control.proxy.implementation


async def test_eigenlayer_managers_are_upgraded_by_a_timelock_that_a_safe_proposes_to(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    reader = await _reader(client)
    timelock, safe = deployment.contracts["EigenLayerTimelock"], deployment.contracts["EigenLayerOperationsSafe"]
    surface = await control_surface(reader, deployment, "eigenlayer")
    listed = {c.proxy.address for c in surface.contracts}
    assert deployment.contracts["EigenLayerStrategyManager"] in listed
    managers = [deployment.contracts[name] for name in MANAGERS]
    history = await upgrades_of(reader, managers)
    for name, manager in zip(MANAGERS, managers, strict=True):
        control = await inspect_contract(
            reader, ContractUse(name, f"eigenlayer/{name[len('EigenLayer') :]}", address=manager)
        )
        assert control.proxy.kind == "transparent"
        assert _chain(control) == [
            ("contract", proxy_admin(sender, manager), None, None),
            ("timelock", timelock, None, TIMELOCK_DELAY),
            ("multisig", safe, THRESHOLD, None),
        ]
        assert control.admin_chain[-1].signers == tuple(operations_owners())
        assert len(control.admin_chain[-1].signers) == OWNERS
        # Deployed as EigenLayer's script did: first over an EmptyContract, then upgraded to the manager.
        upgrades = history[manager]
        assert len(upgrades) == 2
        assert upgrades[-1].implementation == control.proxy.implementation
        assert upgrades[0].block <= upgrades[1].block


async def test_lido_withdrawal_queue_is_an_ossifiable_proxy_administered_by_the_dao_agent(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    queue = deployment.contracts["LidoWithdrawalQueue"]
    sender = Sender.connect(eth_chain.rpc_url)
    proxy = sender.contract(contract_artifact("OssifiableProxy"), queue)
    agent = proxy.functions.proxy__getAdmin().call()
    surface = await control_surface(await _reader(client), deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == queue]
    # Read as mainnet's would be: an EIP-1967 proxy with its admin in the admin slot, the Aragon Agent, which acts
    # for the DAO Voting alone (`test_aragon_agent`).
    assert (control.proxy.kind, control.proxy.admin) == ("transparent", agent)
    assert control.proxy.implementation == proxy.functions.proxy__getImplementation().call()
    assert _chain(control)[0][:2] == ("contract", agent)
    assert control.admin_chain[-1].kind == "governor"


def test_risk_control_json_shows_the_proxies_and_admin_chains(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    deployment: Deployment,
) -> None:
    """`defiscope risk control SLUG --json`, as a script reads it: proxy kind, implementation, admin types."""
    expected = {
        "compound-v2": ("CompoundV2Comptroller", "custom", ["timelock", "governor"]),
        "compound-v3": ("CompoundV3Comet:USDC", "transparent", ["contract", "timelock", "governor"]),
        "eigenlayer": ("EigenLayerStrategyManager", "transparent", ["contract", "timelock", "multisig"]),
        "lido": ("LidoWithdrawalQueue", "transparent", ["contract", "governor"]),
    }
    for slug, (name, kind, admins) in expected.items():
        result = cli.invoke(app, ["risk", "control", slug, "--json"])
        assert result.exit_code == 0, result.output
        by_address = {c["address"]: c for c in json.loads(result.stdout)["control"]}
        contract = by_address[deployment.contracts[name]]
        assert contract["proxy"] == kind, slug
        assert contract["implementation"] not in (None, contract["address"]), slug
        assert [link["type"] for link in contract["admin_chain"]] == admins, slug
        assert contract["upgrades"][-1]["implementation"] == contract["implementation"], slug
    # The contracts found at run time (the CLI reads the protocol's snapshot first): every strategy, one beacon.
    result = cli.invoke(app, ["risk", "control", "eigenlayer", "--json"])
    (strategies,) = [k for k in json.loads(result.stdout)["discovered"] if k["kind"] == "strategy (whitelisted)"]
    (group,) = strategies["groups"]
    assert (strategies["rule"], group["count"], group["proxy"]) == ("inspected", strategies["count"], "beacon")
    assert group["beacon"] == deployment.contracts["EigenLayerStrategyBeacon"]
    text = cli.invoke(app, ["risk", "control", "eigenlayer"])
    assert text.exit_code == 0, text.output
    assert f"strategy (whitelisted) ({strategies['count']} found, inspected)" in " ".join(text.stdout.split())


async def test_each_erc20_ctoken_is_a_delegator_governed_through_the_timelock_and_ceth_is_no_proxy(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    markets = {n: a for n, a in deployment.contracts.items() if n.startswith("CompoundV2cToken:")}
    native = {f"CompoundV2cToken:{m.symbol}" for m in V2_MARKETS if m.native}
    assert len(native) == 1
    reader = await _reader(client)
    history = await upgrades_of(reader, sorted(markets.values()))
    governed = [
        ("timelock", deployment.contracts["CompoundTimelock"], None, TIMELOCK_DELAY),
        ("governor", deployment.contracts["CompoundGovernor"], None, None),
    ]
    delegates = set()
    for name, address in markets.items():
        # The markets are found from the Comptroller at run time (no registry entry of the adapter's): read each.
        control = await inspect_contract(reader, ContractUse(name, "compound/CErc20Delegator", address=address))
        assert _chain(control) == governed, name  # the admin() of the market either way
        if name in native:  # cETH: a CEther, not upgradeable (as on mainnet)
            assert (control.proxy.kind, control.proxy.implementation) == ("none", None)
            continue
        delegator = sender.contract(contract_artifact("CErc20Delegator"), address)
        assert (control.proxy.kind, control.proxy.pattern) == ("custom", "compound-delegator"), name
        assert control.proxy.implementation == delegator.functions.implementation().call()
        assert control.proxy.admin == deployment.contracts["CompoundTimelock"]
        # Its history: the delegate taken at construction (the delegator's NewImplementation).
        assert [u.implementation for u in history[address]] == [control.proxy.implementation]
        delegates.add(control.proxy.implementation)
    assert len(markets) > 2
    assert len(delegates) == 1  # one CErc20Delegate shared, as mainnet's markets share one


async def test_a_ctoken_implementation_change_by_its_admin_shows_in_its_history(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    address, timelock = deployment.contracts["CompoundV2cToken:USDC"], deployment.contracts["CompoundTimelock"]
    delegator = sender.contract(contract_artifact("CErc20Delegator"), address).functions
    market = sender.contract(contract_artifact("CErc20"), address).functions
    first, supply = delegator.implementation().call(), market.totalSupply().call()
    second = sender.deploy(contract_artifact("CErc20Delegate"))
    stranger = sender.accounts[3]
    with pytest.raises(ContractLogicError, match="Caller must be admin"):
        sender.send(delegator._setImplementation(second.address, False, b""), sender=stranger)
    assert delegator.implementation().call() == first
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(delegator._setImplementation(second.address, True, b""), sender=timelock)
    reader = await _reader(client)
    control = await inspect_contract(reader, ContractUse("cUSDC", "compound/CErc20Delegator", address=address))
    assert control.proxy.implementation == second.address
    history = await upgrades_of(reader, [address])
    assert [u.implementation for u in history[address]] == [first, second.address]
    # The market's state stays in the delegator: the new delegate reads the same supply.
    assert market.totalSupply().call() == supply > 0


async def test_eigenlayer_strategies_are_beacon_proxies_whose_beacon_the_timelock_owns(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    beacon_address = deployment.contracts[STRATEGY_BEACON]
    beacon = sender.contract(npm_artifact("UpgradeableBeacon"), beacon_address).functions
    timelock, safe = deployment.contracts["EigenLayerTimelock"], deployment.contracts["EigenLayerOperationsSafe"]
    strategies = whitelisted_strategies(sender, deployment.contracts["EigenLayerStrategyManager"])
    assert len(strategies) == len(STRATEGY_TOKENS)
    reader = await _reader(client)
    for token, strategy in strategies.items():
        control = await inspect_contract(reader, ContractUse("strategy", "eigenlayer/IStrategy", address=strategy))
        assert (control.proxy.kind, control.proxy.beacon) == ("beacon", beacon_address), token
        assert control.proxy.implementation == beacon.implementation().call()
        assert control.proxy.admin == beacon.owner().call() == timelock
        assert _chain(control) == [("timelock", timelock, None, TIMELOCK_DELAY), ("multisig", safe, THRESHOLD, None)]
        # The proxy's own storage holds its token (set through the beacon's implementation by initialize).
        assert sender.contract(contract_artifact("StrategyBase"), strategy).functions.underlyingToken().call() == token


async def test_each_comet_names_its_governor_and_a_pause_guardian_safe(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    guardian = deployment.contracts["CompoundPauseGuardian"]
    surface = await control_surface(await _reader(client), deployment, "compound-v3")
    comets = {a for n, a in deployment.contracts.items() if n.startswith("CompoundV3Comet:")}
    for control in (c for c in surface.contracts if c.proxy.address in comets):
        comet = sender.contract(contract_artifact("Comet"), control.proxy.address).functions
        assert comet.governor().call() == deployment.contracts["CompoundTimelock"]
        (pause,) = control.pause
        assert (pause.holders, pause.why) == ((guardian,), None)
        ((link,),) = pause.holder_chains
        assert (link.kind, link.address, link.threshold) == ("multisig", guardian, PAUSE_GUARDIAN_THRESHOLD)
        assert link.signers == tuple(pause_guardian_owners())
