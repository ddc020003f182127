"""Every protocol's control surface read together, round by round: the same JSON as one protocol at a time, within
five HTTP requests per chain (the client's request accounting, not timing), and later profiles asking only the
control events since their cursor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final

import pytest
from eth_utils import keccak, to_checksum_address

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import InvalidInput
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact, load_npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.protocols.control.profile import ControlSurface, control_surface, control_surfaces, inspect_contract
from defiscope.protocols.control.rounds import REREAD_BLOCKS, ControlLogs, Rounds
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.surface import ContractUse

ZERO: Final = "0x" + "00" * 20
#: OpenZeppelin 5's proxies refuse to be built without an initializing call: Reverter's `ok()` (pure) serves.
INIT: Final = keccak(text="ok()")[:4]
#: Issue 18's bound: a full control profile of a chain's protocols in at most this many HTTP requests.
MAX_REQUESTS: Final = 5


def slugs_of(deployment: Deployment) -> list[str]:
    return list(dict.fromkeys(adapter.info.slug for adapter in adapters_for(deployment)))


async def profile(
    client: ChainClient, deployment: Deployment, logs: ControlLogs | None = None
) -> tuple[dict[str, ControlSurface], int, Reader]:
    """Every protocol's surface at the head, the HTTP requests it cost after the block was pinned, and its reader."""
    reader = Batcher(await client.snapshot()).reader("control")
    before = client.rpc.total_requests()
    surfaces = await control_surfaces(reader, deployment, slugs_of(deployment), logs=logs)
    return surfaces, client.rpc.total_requests() - before, reader


@pytest.fixture(params=[1, 56], ids=["chain-1", "chain-56"])
async def chain(request: pytest.FixtureRequest, devnet: Devnet) -> AsyncIterator[tuple[ChainClient, Deployment]]:
    devnet_chain = devnet.chain(request.param)
    async with ChainClient.connect(devnet_chain.chain_id, [devnet_chain.rpc_url]) as client:
        await client.rpc.verify()
        yield client, devnet_deployment(devnet_chain)


async def test_all_protocols_together_read_the_same_as_each_alone_within_five_requests(
    chain: tuple[ChainClient, Deployment],
) -> None:
    client, deployment = chain
    together, requests, reader = await profile(client, deployment)
    assert requests <= MAX_REQUESTS
    assert set(together) == set(slugs_of(deployment))
    # The first profile read every contract's control events from block 0, in the same batches.
    assert {query.from_block for query in reader.log_queries} == {0}
    alone_requests = 0
    for slug in slugs_of(deployment):
        snapshot = await client.snapshot(reader.block.number)
        before = client.rpc.total_requests()
        alone = await control_surface(Batcher(snapshot).reader(slug), deployment, slug)
        alone_requests += client.rpc.total_requests() - before
        assert together[slug].to_json() == alone.to_json(), slug
    assert alone_requests > requests  # one protocol at a time costs more: the rounds are not shared
    contracts = sum(len(surface.contracts) for surface in together.values())
    assert contracts > 2 * MAX_REQUESTS  # many contracts, few requests: the bound is not met by a small world


async def test_a_later_profile_asks_only_the_events_since_its_cursor_and_sees_a_new_role(
    client: ChainClient, deployment: Deployment, devnet: Devnet
) -> None:
    url = devnet.chain(1).rpc_url
    logs = ControlLogs()
    first, first_requests, first_reader = await profile(client, deployment, logs)
    assert first_requests <= MAX_REQUESTS
    comptroller = deployment.contracts["CompoundV2Comptroller"]
    timelock_address = to_checksum_address(deployment.contracts["CompoundTimelock"])
    safe = deployment.contracts["AaveGuardianSafe"]
    assert len(_control_of(first["compound-v2"], comptroller)["admin_chain"]) == 2  # timelock, governor

    sender = Sender.connect(url)
    timelock = sender.contract(contract_artifact("GovernanceTimelock"), timelock_address)
    with sender.impersonating(timelock_address, gas_money=10**18):  # the timelock administers itself
        sender.send(
            timelock.functions.grantRole(timelock.functions.PROPOSER_ROLE().call(), safe), sender=timelock_address
        )
    rpc(url, "evm_mine")

    later, requests, reader = await profile(client, deployment, logs)
    assert requests <= MAX_REQUESTS
    assert reader.log_queries
    # Only the blocks since the first profile, and the re-read window before them, in place of what was kept.
    assert {query.from_block for query in reader.log_queries} == {first_reader.block.number + 1 - REREAD_BLOCKS}
    (link,) = _control_of(later["compound-v2"], comptroller)["admin_chain"]
    assert (link["type"], set(link["controllers"])) == ("timelock", {safe, deployment.contracts["CompoundGovernor"]})
    fresh, _, _ = await profile(client, deployment)  # no cursor: every event from block 0
    assert {slug: s.to_json() for slug, s in later.items()} == {slug: s.to_json() for slug, s in fresh.items()}


def _control_of(surface: ControlSurface, address: str) -> dict[str, Any]:
    (found,) = [c for c in surface.to_json()["control"] if c["address"] == to_checksum_address(address)]
    return found


async def test_a_round_is_one_batch_and_an_answer_asked_twice_is_read_once(
    client: ChainClient, deployment: Deployment
) -> None:
    reader = Batcher(await client.snapshot()).reader("rounds")
    rounds = Rounds(reader)
    pool = deployment.contracts["AaveV3Pool"]
    provider = Call.of(pool, "ADDRESSES_PROVIDER()(address)")

    async def asks() -> tuple[bytes, Any, int]:
        code = await rounds.code(pool)
        rounds.prefetch(emitters=[pool])  # its events go out with the call's round
        (answer,) = await rounds.values([provider])
        return code, answer, len(await rounds.control_logs(pool))

    before = client.rpc.total_requests()
    first, second = await rounds.run(rounds.gather(asks(), asks()))
    # Each task asked its code, then its call and events: two rounds, each one request with both tasks' reads.
    assert (rounds.rounds, client.rpc.total_requests() - before) == (2, 2)
    assert first == second
    assert first[1] == deployment.contracts["AaveV3PoolAddressesProvider"]
    assert [r.call for r in reader.records] == [provider]  # asked by both, read once
    assert [r.method for r in reader.node_reads] == ["eth_getCode"]


async def test_a_task_awaiting_outside_the_rounds_still_gets_its_answers(
    client: ChainClient, deployment: Deployment
) -> None:
    rounds = Rounds(Batcher(await client.snapshot()).reader("rounds"))
    pool = deployment.contracts["AaveV3Pool"]

    async def late() -> bytes:
        await asyncio.sleep(0.01)  # not counted by the rounds: the watchdog sends the round anyway
        return await rounds.code(pool)

    async def early() -> bytes:
        return await rounds.code(deployment.contracts["AaveV3PoolAddressesProvider"])

    late_code, early_code = await asyncio.wait_for(rounds.run(rounds.gather(late(), early())), timeout=30)
    assert late_code
    assert early_code


def test_kept_events_in_the_reread_window_are_replaced_so_a_reorged_one_goes() -> None:
    logs = ControlLogs()
    emitter = "0x00000000000000000000000000000000000000aa"

    def event(block: int) -> dict[str, Any]:
        return {"address": emitter, "blockNumber": hex(block), "topics": ["0x01"]}

    logs.add(emitter, [event(10), event(1_000)], 0, 1_000)
    assert logs.start(emitter) == 1_001 - REREAD_BLOCKS
    assert logs.covers(emitter, 900)
    assert not logs.covers(emitter, 1_000)  # in the window: read again
    # The event at block 1,000 was reorged away: the re-read of the window does not have it.
    logs.add(emitter, [event(1_010)], logs.start(emitter), 1_020)
    assert [int(e["blockNumber"], 16) for e in logs.up_to(emitter, 1_020)] == [10, 1_010]
    assert [int(e["blockNumber"], 16) for e in logs.up_to(emitter, 500)] == [10]
    assert logs.start("0x00000000000000000000000000000000000000bb") == 0
    logs.bind(1)
    with pytest.raises(InvalidInput, match="chain 56 needs its own"):
        logs.bind(56)


async def test_every_proxy_kind_under_a_timelock_is_read_in_a_few_rounds_as_alone(
    client: ChainClient, devnet: Devnet
) -> None:
    """Transparent, beacon and UUPS proxies whose admin is an OpenZeppelin TimelockController (proposer: an EOA),
    inspected together: one request per round, as many rounds as the deepest chain, the same as each alone."""
    sender = Sender.connect(devnet.chain(1).rpc_url)
    timelock = _oz(sender, "TimelockController", 3_600, [sender.owner], [sender.owner], ZERO)
    implementation = sender.deploy(contract_artifact("Reverter"))
    transparent = _oz(sender, "TransparentUpgradeableProxy", implementation.address, timelock.address, INIT)
    beacon = _oz(sender, "UpgradeableBeacon", implementation.address, timelock.address)
    beacon_proxy = _oz(sender, "BeaconProxy", beacon.address, INIT)
    uups_implementation = sender.deploy(contract_artifact("DevUUPS"))
    init = uups_implementation.functions.initialize(timelock.address)._encode_transaction_data()
    uups = _oz(sender, "ERC1967Proxy", uups_implementation.address, init)
    uses = [
        ContractUse(name, "openzeppelin/IERC1967", address=proxy.address)
        for name, proxy in (("transparent", transparent), ("beacon", beacon_proxy), ("uups", uups))
    ]

    snapshot = await client.snapshot()
    rounds = Rounds(Batcher(snapshot).reader("control"))
    before = client.rpc.total_requests()
    together = await rounds.run(rounds.gather(*(inspect_contract(rounds, use) for use in uses)))
    assert client.rpc.total_requests() - before == rounds.rounds <= 4
    assert [c.proxy.kind for c in together] == ["transparent", "beacon", "uups"]
    for control in together:
        assert timelock.address in [link.address for link in control.admin_chain]
        assert control.admin_chain[-1].kind == "eoa"
        alone = await inspect_contract(
            Batcher(snapshot).reader("alone"),
            ContractUse(control.name, control.interface, address=control.proxy.address),
        )
        assert alone.to_json() == control.to_json()


def _oz(sender: Sender, name: str, *args: Any) -> Any:
    return sender.deploy(load_npm_artifact(f"@openzeppelin/contracts/build/contracts/{name}.json"), *args)


async def test_a_pause_read_that_reverts_is_reported_unread_with_why(
    client: ChainClient, deployment: Deployment
) -> None:
    reverter = deployment.contracts["Reverter"]
    reader = Batcher(await client.snapshot()).reader("control")
    control = await inspect_contract(reader, ContractUse("not a pool", "aave/IPool", address=reverter))
    (power,) = control.pause
    assert power.holders == ()
    assert power.why is not None
    assert power.why.startswith("not read: execution reverted")
