"""Proxy detection and admin chains read from the devnet's real contracts (Aave's proxies, a Safe, OpenZeppelin's
TimelockController and Governor, OpenZeppelin's transparent and beacon proxies), and upgrades from their events."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from eth_utils import keccak, to_checksum_address

from defiscope.analytics.risk.rules import contract_score
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, load_npm_artifact
from defiscope.devnet.governance import PAUSE_GUARDIAN_THRESHOLD, TIMELOCK_DELAY, pause_guardian_owners
from defiscope.devnet.safe import OWNERS, THRESHOLD, safe_owner
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import admin_chain, classify
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract, upgrades_of
from defiscope.protocols.control.proxy import IMPLEMENTATION_SLOT, read_proxy
from defiscope.protocols.control.roles import ward_holders
from defiscope.protocols.surface import ContractUse

OZ = "@openzeppelin/contracts/build/contracts/"
#: OpenZeppelin 5.7's proxies refuse to be built without an initializing call: Reverter's `ok()` (pure) serves.
INIT: Final = keccak(text="ok()")[:4]


async def _reader(client: ChainClient) -> Reader:
    return Batcher(await client.snapshot()).reader("control")


async def test_aave_pool_is_a_transparent_proxy_with_the_provider_as_immutable_admin(
    client: ChainClient, deployment: Deployment
) -> None:
    reader = await _reader(client)
    pool, provider = deployment.contracts["AaveV3Pool"], deployment.contracts["AaveV3PoolAddressesProvider"]
    info = await read_proxy(reader, pool)
    assert (info.kind, info.pattern, info.admin) == ("transparent", "immutable-admin", provider)
    assert info.implementation is not None
    assert info.implementation != pool
    # The storage read is kept as provenance, with the word it answered.
    slot_reads = [
        r for r in reader.node_reads if r.method == "eth_getStorageAt" and hex(IMPLEMENTATION_SLOT) in r.subject
    ]
    assert slot_reads
    assert int(slot_reads[0].answer, 16) == int(info.implementation, 16)
    chain = await admin_chain(reader, provider)
    # Ownable provider, owned by Governance V3's level-1 executor (as on mainnet), to the governance's vote.
    assert [link.kind for link in chain] == ["contract", "contract", "timelock", "governor"]


async def test_the_guardian_safe_is_a_3_of_5_multisig_holding_aave_pause(
    client: ChainClient, deployment: Deployment
) -> None:
    reader = await _reader(client)
    safe = deployment.contracts["AaveGuardianSafe"]
    info = await read_proxy(reader, safe)
    assert (info.kind, info.pattern, info.implementation) == (
        "custom",
        "safe-proxy",
        deployment.contracts["SafeSingleton"],
    )
    link = await classify(reader, safe)
    assert (link.kind, link.threshold) == ("multisig", THRESHOLD)
    assert link.signers == tuple(safe_owner(i) for i in range(OWNERS))
    surface = await control_surface(reader, deployment, "aave-v3")
    (pool,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["AaveV3Pool"]]
    (pause,) = pool.pause
    assert pause.holders == (safe,)  # the deployer gave the role up
    ((holder,),) = pause.holder_chains
    assert (holder.kind, holder.threshold, len(holder.signers)) == ("multisig", THRESHOLD, OWNERS)


async def test_compound_admin_chain_runs_through_the_timelock_to_the_governor(
    client: ChainClient, deployment: Deployment
) -> None:
    reader = await _reader(client)
    comptroller = deployment.contracts["CompoundV2Comptroller"]
    info = await read_proxy(reader, comptroller)
    # As on mainnet: the Comptroller's address is a Unitroller, administered by the timelock.
    assert (info.kind, info.pattern, info.admin) == (
        "custom",
        "compound-unitroller",
        deployment.contracts["CompoundTimelock"],
    )
    surface = await control_surface(reader, deployment, "compound-v2")
    (control,) = [c for c in surface.contracts if c.proxy.address == comptroller]
    kinds = [(link.kind, link.address, link.delay_seconds) for link in control.admin_chain]
    assert kinds == [
        ("timelock", deployment.contracts["CompoundTimelock"], TIMELOCK_DELAY),
        ("governor", deployment.contracts["CompoundGovernor"], None),
    ]
    # The pause guardian, named by the admin with `_setPauseGuardian`: the community multisig Safe, as on mainnet.
    guardian = deployment.contracts["CompoundPauseGuardian"]
    (pause,) = control.pause
    assert (pause.holders, pause.source, pause.why) == ((guardian,), "pauseGuardian", None)
    ((holder,),) = pause.holder_chains
    assert (holder.kind, holder.address, holder.threshold) == ("multisig", guardian, PAUSE_GUARDIAN_THRESHOLD)
    assert holder.signers == tuple(pause_guardian_owners())


async def test_the_v2_factory_is_controlled_by_its_fee_setter(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """A V2 factory has no owner: whoever is its feeToSetter controls it (as on mainnet, Uniswap's Timelock). Handed
    to an EOA through the real `setFeeToSetter`, the chain ends at the EOA."""
    factory_address = deployment.contracts["UniswapV2Factory"]
    surface = await control_surface(await _reader(client), deployment, "uniswap-v2")
    (control,) = [c for c in surface.contracts if c.proxy.address == factory_address]
    assert [(link.kind, link.address) for link in control.admin_chain] == [
        ("timelock", deployment.contracts["UniswapTimelock"]),
        ("governor", deployment.contracts["UniswapGovernor"]),
    ]
    sender = Sender.connect(eth_chain.rpc_url)
    factory = sender.contract(load_npm_artifact("@uniswap/v2-core/build/UniswapV2Factory.json"), factory_address)
    timelock = to_checksum_address(deployment.contracts["UniswapTimelock"])
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(factory.functions.setFeeToSetter(sender.owner), sender=timelock)
    surface = await control_surface(await _reader(client), deployment, "uniswap-v2")
    (control,) = [c for c in surface.contracts if c.proxy.address == factory_address]
    assert [(link.kind, link.address) for link in control.admin_chain] == [("eoa", sender.owner)]


async def test_an_admin_that_answers_nothing_is_unknown_never_safe(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    factory = sender.contract(
        load_npm_artifact("@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json"),
        deployment.contracts["UniswapV3Factory"],
    )
    reverter = deployment.contracts["Reverter"]
    timelock = to_checksum_address(deployment.contracts["UniswapTimelock"])
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(factory.functions.setOwner(reverter), sender=timelock)
    reader = await _reader(client)
    chain = await admin_chain(reader, deployment.contracts["UniswapV3Factory"])
    assert [link.kind for link in chain] == ["contract", "unknown"]
    assert chain[-1].address == reverter
    assert chain[-1].why
    assert "none of" in chain[-1].why


def _oz(sender: Sender, name: str, *args: Any) -> Any:
    return sender.deploy(load_npm_artifact(f"{OZ}{name}.json"), *args)


async def test_transparent_proxy_upgrade_is_read_from_upgraded_events(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    first, second = (sender.deploy(contract_artifact("Reverter")) for _ in range(2))
    proxy = _oz(sender, "TransparentUpgradeableProxy", first.address, sender.owner, INIT)
    reader = await _reader(client)
    before = await read_proxy(reader, proxy.address)
    assert (before.kind, before.implementation) == ("transparent", first.address)
    admin = sender.contract(load_npm_artifact(f"{OZ}ProxyAdmin.json"), str(before.admin))
    sender.send(admin.functions.upgradeAndCall(proxy.address, second.address, b""))

    reader = await _reader(client)
    after = await read_proxy(reader, proxy.address)
    assert after.implementation == second.address
    chain = await admin_chain(reader, str(after.admin))
    assert [(link.kind, link.address) for link in chain] == [("contract", before.admin), ("eoa", sender.owner)]
    upgrades = (await upgrades_of(reader, [proxy.address]))[proxy.address]
    assert [u.implementation for u in upgrades] == [first.address, second.address]
    assert upgrades[0].block < upgrades[1].block


async def test_beacon_proxy_reads_the_beacon(client: ChainClient, eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    implementation = sender.deploy(contract_artifact("Reverter"))
    beacon = _oz(sender, "UpgradeableBeacon", implementation.address, sender.owner)
    proxy = _oz(sender, "BeaconProxy", beacon.address, INIT)
    info = await read_proxy(await _reader(client), proxy.address)
    assert (info.kind, info.beacon, info.implementation, info.admin) == (
        "beacon",
        beacon.address,
        implementation.address,
        sender.owner,
    )


async def test_an_account_without_code_is_an_eoa_and_no_proxy(client: ChainClient) -> None:
    reader = await _reader(client)
    nobody = safe_owner(0)
    assert (await classify(reader, nobody)).kind == "eoa"
    info = await read_proxy(reader, nobody)
    assert (info.kind, info.has_code) == ("none", False)


async def test_vat_wards_come_from_rely_notes_and_are_confirmed(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    vat_address = deployment.contracts["MakerVat"]
    vat = sender.contract(contract_artifact("Vat"), vat_address)
    before = await ward_holders(await _reader(client), vat_address)
    assert before
    assert all(vat.functions.wards(w).call() == 1 for w in before)
    newcomer = safe_owner(4)
    with sender.impersonating(before[0], gas_money=10**18):
        sender.send(vat.functions.rely(newcomer), sender=to_checksum_address(before[0]))
    assert newcomer in await ward_holders(await _reader(client), vat_address)
    with sender.impersonating(before[0], gas_money=10**18):
        sender.send(vat.functions.deny(newcomer), sender=to_checksum_address(before[0]))
    after = await ward_holders(await _reader(client), vat_address)
    assert newcomer not in after  # named by a rely note, but denied since: not a ward
    assert sorted(after) == sorted(before)


async def test_a_renounced_owner_ends_the_chain_saying_so(client: ChainClient, eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    beacon = _oz(sender, "UpgradeableBeacon", sender.deploy(contract_artifact("Reverter")).address, sender.owner)
    sender.send(beacon.functions.renounceOwnership())
    (link,) = await admin_chain(await _reader(client), beacon.address)
    assert (link.kind, link.why) == ("contract", "controlled by the zero address: renounced")


async def test_uups_proxy_is_told_from_transparent_by_proxiable_uuid(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    first, second = (sender.deploy(contract_artifact("DevUUPS")) for _ in range(2))
    init = first.functions.initialize(sender.owner)._encode_transaction_data()
    proxy = _oz(sender, "ERC1967Proxy", first.address, init)
    reader = await _reader(client)
    info = await read_proxy(reader, proxy.address)
    assert (info.kind, info.implementation, info.admin) == ("uups", first.address, None)
    # The upgrade goes through the implementation, as its owner; the admin chain starts at owner().
    uups = sender.contract(contract_artifact("DevUUPS"), proxy.address)
    sender.send(uups.functions.upgradeToAndCall(second.address, b""))
    surface_use = ContractUse("DevUUPS", "openzeppelin/UUPSUpgradeable", address=proxy.address)
    control = await inspect_contract(await _reader(client), surface_use)
    assert (control.proxy.kind, control.proxy.implementation) == ("uups", second.address)
    assert [(link.kind, link.address) for link in control.admin_chain] == [("eoa", sender.owner)]


async def test_timelock_proposers_come_from_role_events_and_a_fork_ends_the_chain(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    timelock_address = to_checksum_address(deployment.contracts["CompoundTimelock"])
    timelock = sender.contract(contract_artifact("GovernanceTimelock"), timelock_address)
    safe, governor = deployment.contracts["AaveGuardianSafe"], deployment.contracts["CompoundGovernor"]
    proposer = timelock.functions.PROPOSER_ROLE().call()
    with sender.impersonating(timelock_address, gas_money=10**18):  # the timelock administers itself
        sender.send(timelock.functions.grantRole(proposer, safe), sender=timelock_address)
    chain = await admin_chain(await _reader(client), timelock_address)
    assert [link.kind for link in chain] == ["timelock"]
    assert set(chain[0].controllers) == {governor, safe}
    assert chain[0].why == "2 controllers: the chain is not followed further"
    with sender.impersonating(timelock_address, gas_money=10**18):
        sender.send(timelock.functions.revokeRole(proposer, safe), sender=timelock_address)
    chain = await admin_chain(await _reader(client), timelock_address)
    assert [(link.kind, link.address) for link in chain] == [("timelock", timelock_address), ("governor", governor)]


async def test_storage_reads_are_pinned_batched_and_recorded(client: ChainClient, eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    first, second = (sender.deploy(contract_artifact("Reverter")) for _ in range(2))
    proxy = _oz(sender, "TransparentUpgradeableProxy", first.address, sender.owner, INIT)
    before = await client.block()
    admin = sender.contract(
        load_npm_artifact(f"{OZ}ProxyAdmin.json"), (await read_proxy(await _reader(client), proxy.address)).admin
    )
    sender.send(admin.functions.upgradeAndCall(proxy.address, second.address, b""))
    reader = await _reader(client)
    sent = client.rpc.total_requests()
    now, then = await asyncio.gather(
        reader.storage(proxy.address, IMPLEMENTATION_SLOT),
        reader.at(await reader.header(before.number)).storage(proxy.address, IMPLEMENTATION_SLOT),
    )
    assert (now, then) == (int(second.address, 16), int(first.address, 16))  # each at its own block
    assert client.rpc.total_requests() - sent == 2  # the header, then both storage words in one batch
    reads = [r for r in reader.node_reads if r.method == "eth_getStorageAt"]
    assert sorted(r.block for r in reads) == [before.number, reader.block.number]


async def test_a_ds_auth_contract_with_no_owner_is_run_by_its_authority(
    client: ChainClient, deployment: Deployment
) -> None:
    """Maker's DSPause has owner zero, as on mainnet, but its authority (the Chief) may plot plans: it is not
    renounced, its chain ends at the Chief. The Chief is its own authority (ds-chief's constructor): the hat, the
    spell voted in, runs it."""
    pause, chief = deployment.contracts["MakerPause"], deployment.contracts["MakerChief"]
    reader = await _reader(client)
    use = ContractUse("maker pause", "maker/DSPause", address=pause)
    control = await inspect_contract(reader, use)
    assert [(link.kind, link.address) for link in control.admin_chain] == [("governor", to_checksum_address(chief))]
    chief_control = await inspect_contract(reader, ContractUse("maker chief", "maker/DSChief", address=chief))
    assert [(link.kind, link.address) for link in chief_control.admin_chain] == [
        ("governor", chief_control.proxy.address)
    ]


def _hops(control: ContractControl) -> list[tuple[str, str]]:
    return [(link.kind, link.address) for link in control.admin_chain]


async def test_the_jug_and_the_vat_are_run_by_their_wards_to_the_chief_and_an_eoa_relied_on_the_jug_is_the_weakest(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """dss contracts answer no owner(): their wards administer them. The Jug's ward (relied with a LibNote) is the
    pause proxy, owned by the DSPause (a timelock) whose authority is the Chief. The Vat's wards are the pause proxy
    and its modules (Jug, Spotter, Dog, joins), each followed through its own wards: they all lead to the pause
    proxy. An EOA relied on the Jug through its auth (the pause proxy's rely) is the Jug's weakest ward, and the
    Vat's through the Jug."""
    contracts = deployment.contracts
    proxy, pause, chief = contracts["MakerPauseProxy"], contracts["MakerPause"], contracts["MakerChief"]
    jug_use = ContractUse("Jug", "maker/Jug", address=contracts["MakerJug"])
    vat_use = ContractUse("Vat", "maker/VatAbstract", address=contracts["MakerVat"])
    reader = await _reader(client)
    jug, vat = await inspect_contract(reader, jug_use), await inspect_contract(reader, vat_use)
    governed = [("contract", proxy), ("timelock", pause), ("governor", chief)]
    assert _hops(jug) == _hops(vat) == governed
    assert contract_score(vat) == contract_score(jug)
    assert contract_score(jug)[1] == "control.governor-delay"
    (auth,) = vat.pause  # the Vat's ward list: every module ward is understood as administered by its wards
    modules = {contracts[name] for name in ("MakerJug", "MakerSpotter", "MakerDog")}
    assert modules <= set(auth.holders)
    assert {chain[0].kind for chain in auth.holder_chains} == {"contract"}
    assert {chain[-1].address for chain in auth.holder_chains} == {chief}

    sender = Sender.connect(eth_chain.rpc_url)
    eoa = sender.accounts[5]
    jug_functions = sender.contract(contract_artifact("Jug"), jug_use.address).functions
    with sender.impersonating(proxy, gas_money=10**18):  # a ward's rely: the Jug's own auth check
        sender.send(jug_functions.rely(eoa), sender=proxy)
    assert jug_functions.wards(eoa).call() == 1
    reader = await _reader(client)
    jug, vat = await inspect_contract(reader, jug_use), await inspect_contract(reader, vat_use)
    (jug_fork,) = jug.admin_chain
    (vat_fork,) = vat.admin_chain
    for fork in (jug_fork, vat_fork):
        assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {proxy: "contract", eoa: "eoa"}
    assert jug_use.address in vat_fork.detail  # the module its EOA was reached through
    assert contract_score(jug)[:2] == contract_score(vat)[:2] == (10, "control.eoa-no-delay")


async def test_a_dss_contract_whose_ward_was_set_in_its_constructor_is_unknown_not_unadministered(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """A new Jug's only ward is its deployer, set in the constructor, which logs nothing: it answers wards() but
    no ward is found, so its admin is unknown (scored 0), never "no admin"; a contract without wards (the CDP
    manager) stays without an admin."""
    sender = Sender.connect(eth_chain.rpc_url)
    fresh = sender.deploy(contract_artifact("Jug"), deployment.contracts["MakerVat"])
    assert fresh.functions.wards(sender.owner).call() == 1
    reader = await _reader(client)
    control = await inspect_contract(reader, ContractUse("new Jug", "maker/Jug", address=fresh.address))
    (link,) = control.admin_chain
    assert (link.kind, link.detail) == ("unknown", "dss wards")
    assert link.why is not None
    assert "constructor" in link.why
    assert contract_score(control)[:2] == (0, "control.unknown-admin")
    manager = ContractUse("manager", "maker/DssCdpManager", address=deployment.contracts["MakerCdpManager"])
    unadministered = await inspect_contract(reader, manager)
    assert (unadministered.admin_chain, contract_score(unadministered)[1]) == ((), "control.no-admin")


async def test_dss_modules_relying_each_other_are_followed_once_to_the_pause_proxy(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """The Jug and the Spotter made wards of each other (by their ward, the pause proxy): a cycle of modules. Each
    is followed through the other once; both, and the Vat whose wards they are, still end at the Chief."""
    contracts = deployment.contracts
    proxy, pause, chief = contracts["MakerPauseProxy"], contracts["MakerPause"], contracts["MakerChief"]
    jug_address, spotter_address = contracts["MakerJug"], contracts["MakerSpotter"]
    sender = Sender.connect(eth_chain.rpc_url)
    jug = sender.contract(contract_artifact("Jug"), jug_address).functions
    spotter = sender.contract(contract_artifact("Spotter"), spotter_address).functions
    with sender.impersonating(proxy, gas_money=10**18):
        sender.send(jug.rely(spotter_address), sender=proxy)
        sender.send(spotter.rely(jug_address), sender=proxy)
    assert jug.wards(spotter_address).call() == spotter.wards(jug_address).call() == 1
    reader = await _reader(client)
    governed = [("contract", proxy), ("timelock", pause), ("governor", chief)]
    for name, address in (("Jug", jug_address), ("Spotter", spotter_address), ("Vat", contracts["MakerVat"])):
        control = await inspect_contract(reader, ContractUse(name, "maker/Jug", address=address))
        assert _hops(control) == governed, name
