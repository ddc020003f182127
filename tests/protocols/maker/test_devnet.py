"""Maker on the mainnet-shaped devnet: the adapter counts the IlkRegistry's ilks by class, the Vat's wards check
the registry, the risk report finds urns from NewCdp and frob, prices them from spot x mat, and lists (never
zeroes) the vaults it cannot value; the OSM refuses callers it has not kissed, as mainnet's does."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.maker import DIRECT_URNS, ILKS, LITE_PSM_SOLD, VAULTS, direct_urn, ilk_id, seeded_cdp
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.spec import ETHEREUM, PROTOCOL_TOKENS
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import AdapterResult, BalanceKind
from defiscope.protocols.maker.adapter import MakerAdapter
from defiscope.protocols.maker.ilks import RULES
from defiscope.protocols.maker.math import WAD
from defiscope.protocols.maker.risk import maker_risk_positions
from defiscope.protocols.maker.vaults import Vault, discover_urns, read_ilks, scan_vaults
from defiscope.protocols.yields import YieldKind
from tests.protocols.compound.kit import Lab

NOBODY = Web3.to_checksum_address("0x" + "ab" * 20)
TOKEN_OF = {i.name: i.token for i in ILKS}


def units(symbol: str, whole: int) -> int:
    decimals = PROTOCOL_TOKENS[1].get(symbol)  # wstETH comes from the Lido deploy step
    return whole * 10 ** (ETHEREUM.token(symbol).decimals if decimals is None else decimals)


async def read(eth_chain: DevnetChain, adapter: MakerAdapter) -> AdapterResult:
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        return await adapter.read(Batcher(await client.snapshot()).reader("makerdao"))


async def test_tvl_is_every_registered_ilk_by_class(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    adapter = MakerAdapter(deployment)
    result = await read(eth_chain, adapter)
    tvl: dict[str, int] = {}
    for p in result.positions:
        if p.kind == BalanceKind.TVL:
            tvl[p.token] = tvl.get(p.token, 0) + p.amount
    seeded: dict[str, int] = {}
    for v in (*VAULTS, DIRECT_URNS[0]):  # the RWA urn's placeholder token is not counted
        seeded[TOKEN_OF[v.ilk]] = seeded.get(TOKEN_OF[v.ilk], 0) + units(TOKEN_OF[v.ilk], v.collateral)
    seeded["USDC"] += units("USDC", LITE_PSM_SOLD)
    assert tvl == {deployment.token(s).address: amount for s, amount in seeded.items()}
    # The LitePSM's USDC is counted where it sits: its pocket, not the LitePSM.
    (lite,) = [p for p in result.positions if p.label == "LITE-PSM-USDC-A litepsm-pocket"]
    assert (lite.holder, lite.amount) == (seed_address("maker", "lite psm pocket"), units("USDC", LITE_PSM_SOLD))
    assert adapter.skipped == {"RWA001-A": RULES[3].reason}
    assert adapter.unregistered == {}


async def test_borrowed_is_the_same_ilks_debt(eth_chain: DevnetChain) -> None:
    result = await read(eth_chain, MakerAdapter(devnet_deployment(eth_chain)))
    debt = {p.label.removesuffix(" debt"): p.amount for p in result.positions if p.kind == BalanceKind.BORROWED}
    assert set(debt) == {i.name for i in ILKS} | {"LITE-PSM-USDC-A"}  # RWA001-A's debt is not counted
    drawn: dict[str, int] = {}
    for v in (*VAULTS, DIRECT_URNS[0]):
        drawn[v.ilk] = drawn.get(v.ilk, 0) + v.dai * WAD
    for ilk, amount in drawn.items():  # the DAI drawn, plus the fee accrued while seeding (well under 0.1 %)
        assert amount <= debt[ilk] < amount * 1001 // 1000, ilk
    # Fee-free ilks owe exactly what was minted: the PSM's DAI and the LitePSM's fill.
    assert (debt["PSM-USDC-A"], debt["LITE-PSM-USDC-A"]) == (3_000_000 * WAD, LITE_PSM_SOLD * WAD)


async def test_stability_fees_are_borrow_yields(eth_chain: DevnetChain) -> None:
    result = await read(eth_chain, MakerAdapter(devnet_deployment(eth_chain)))
    fees = {y.method.split(":")[0]: y for y in result.yields}
    assert set(fees) == {i.name for i in ILKS}  # vault ilks only: no LitePSM, no RWA
    for ilk in ILKS:
        y = fees[ilk.name]
        assert (y.kind, y.symbol, y.market) == (
            YieldKind.BORROW,
            "DAI",
            eth_chain.contracts[f"MakerGemJoin:{ilk.name}"],
        )
        # The governance fee the duty was set from, compounded back by rpow (to rounding).
        assert abs(y.apy - Decimal(ilk.fee)) < Decimal("1e-15"), ilk.name
        assert y.apr <= y.apy


async def test_debt_follows_the_stability_fee(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    adapter = MakerAdapter(devnet_deployment(eth_chain))
    before = {p.label: p.amount for p in (await read(eth_chain, adapter)).positions}
    lab.advance(365 * 86_400)
    lab.sender.send(lab.at("Jug", "MakerJug").functions.drip(ilk_id("ETH-A")))
    after = {p.label: p.amount for p in (await read(eth_chain, adapter)).positions}
    grown = Fraction(after["ETH-A debt"], before["ETH-A debt"])
    assert Fraction(10525, 10000) <= grown < Fraction(10526, 10000)  # a year at 5.25 %
    assert after["ETH-B debt"] == before["ETH-B debt"]  # not dripped: the Vat's rate did not move


async def test_after_the_first_read_one_batch_reads_everything(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    adapter = MakerAdapter(devnet_deployment(eth_chain))
    first = await read(eth_chain, adapter)
    lab.mine(1)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot())
        second = await adapter.read(batcher.reader("makerdao"))
    assert batcher.flushes == 1  # positions and yields of every known ilk, with the registry's list
    assert second.positions == first.positions
    assert second.yields == first.yields


async def test_a_join_the_vat_relies_on_but_the_registry_lacks_is_reported(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    join = lab.deploy("GemJoin", eth_chain.contracts["MakerVat"], ilk_id("UNI-A"), eth_chain.tokens["UNI"])
    lab.sender.send(lab.at("Vat", "MakerVat").functions.rely(join.address))
    adapter = MakerAdapter(devnet_deployment(eth_chain))
    result = await read(eth_chain, adapter)
    assert adapter.unregistered == {join.address: "UNI-A"}
    assert eth_chain.tokens["UNI"] not in {p.token for p in result.positions}  # reported, not counted


async def test_urns_come_from_new_cdp_and_frob(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    deployment = devnet_deployment(eth_chain)
    manager = lab.at("MakerCdpManager", "MakerCdpManager").functions
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        urns = await discover_urns(client, Batcher(snapshot).reader("t"), deployment, 0, snapshot.block.number)
    for vault in VAULTS:
        cdp = seeded_cdp(vault.name)
        assert manager.urns(cdp).call() in urns[vault.ilk]
        # The cdp's owner is the DSProxy its owner opened it through, as on mainnet.
        proxy = lab.sender.contract(contract_artifact("MakerDSProxy"), manager.owns(cdp).call())
        assert proxy.functions.owner().call() == seed_address("maker", vault.name)
    for vault in DIRECT_URNS:  # driven straight through the Vat: only its frob LogNotes show them
        assert urns[vault.ilk] == [direct_urn(vault)]
    assert sum(len(found) for found in urns.values()) == len(VAULTS) + len(DIRECT_URNS) + 1  # + the LitePSM


async def test_risk_report_values_from_spot_and_lists_what_it_cannot_value(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    deployment = devnet_deployment(eth_chain)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        _, positions, assets, unvalued = await maker_risk_positions(client, deployment)
    assert (len(positions), unvalued) == (len(VAULTS) + 1, ())  # the vaults and the PSM's urn; no RWA
    assert assets == ("WETH", "WBTC", "wstETH", "LINK", "USDC")
    # The ETH feed goes to 0 and is poked into the Vat: ETH ilks have no price, so their vaults are listed.
    lab.set_feed("ETH/USD", 0)
    for ilk in ("ETH-A", "ETH-B", "ETH-C"):
        lab.sender.send(lab.at("Spotter", "MakerSpotter").functions.poke(ilk_id(ilk)))
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        _, positions, _, unvalued = await maker_risk_positions(client, deployment)
    eth_vaults = [v for v in VAULTS if TOKEN_OF[v.ilk] == "WETH"]
    assert len(unvalued) == len(eth_vaults)
    assert all(line.endswith(": no price (spot 0)") and line.startswith("ETH-") for line in unvalued)
    assert len(positions) == len(VAULTS) + 1 - len(eth_vaults)
    assert all(leg.usd > 0 for p in positions for leg in p.collateral)


def test_osm_answers_only_kissed_callers(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    pip = lab.at("MakerOsm", "MakerPip:ETH-A")
    with pytest.raises(ContractLogicError, match="OSM/contract-not-whitelisted"):
        pip.functions.peek().call({"from": NOBODY})
    assert pip.functions.bud(eth_chain.contracts["MakerSpotter"]).call() == 1
    val, has = pip.functions.peek().call({"from": eth_chain.contracts["MakerSpotter"]})
    assert (int.from_bytes(val, "big"), has) == (3000 * WAD, True)


async def test_vault_ratios_and_bark(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    deployment = devnet_deployment(eth_chain)
    risky_urn = lab.at("MakerCdpManager", "MakerCdpManager").functions.urns(seeded_cdp("eth risky")).call()

    async def vaults() -> list[Vault]:
        async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
            snapshot = await client.snapshot()
            reader = Batcher(snapshot).reader("test")
            ilks = await read_ilks(reader, deployment)
            urns = await discover_urns(client, reader, deployment, 0, snapshot.block.number)
            return await scan_vaults(reader, deployment, ilks, urns)

    by_urn = {v.urn: v for v in await vaults()}
    risky = by_urn[risky_urn]
    assert risky.state.ink == 100 * WAD
    assert risky.ratio is not None
    assert Fraction(1522, 1000) < risky.ratio < Fraction(1523, 1000)  # $300,000 over 197,000 DAI and a bit
    assert risky.liquidation_price is not None
    assert Fraction(28565, 10) <= risky.liquidation_price < 2857
    assert risky.safe
    assert not risky.barkable
    # ETH to $2,800, poked into the Vat: the risky vault (and only it) can be barked.
    lab.set_feed("ETH/USD", 2_800 * 10**8)
    spotter, dog = lab.at("Spotter", "MakerSpotter"), lab.at("Dog", "MakerDog")
    for ilk in ("ETH-A", "ETH-B", "ETH-C"):
        lab.sender.send(spotter.functions.poke(ilk_id(ilk)))
    assert [v.urn for v in await vaults() if v.barkable] == [risky_urn]
    lab.sender.send(dog.functions.bark(ilk_id("ETH-A"), risky_urn, lab.sender.owner))
    clipper = lab.at("MakerClipper", "MakerClipper:ETH-A")
    _, tab, lot, usr, _, _ = clipper.functions.sales(1).call()
    chop = dog.functions.chop(ilk_id("ETH-A")).call()
    assert (lot, usr) == (100 * WAD, risky_urn)
    assert tab == risky.state.art * risky.ilk.rate * chop // WAD  # due * chop / WAD, the whole vault
    assert lab.at("Vat", "MakerVat").functions.urns(ilk_id("ETH-A"), risky_urn).call() == [0, 0]


async def test_an_ilk_added_to_the_registry_is_counted_and_named_by_it(eth_chain: DevnetChain) -> None:
    """A new collateral onboarded as governance does (join relied, priced, clip filed, registry.add)."""
    lab = Lab.connect(eth_chain)
    deployment = devnet_deployment(eth_chain)
    vat, spotter, dog = lab.at("Vat", "MakerVat"), lab.at("Spotter", "MakerSpotter"), lab.at("Dog", "MakerDog")
    adapter = MakerAdapter(deployment)
    before = await read(eth_chain, adapter)  # the adapter knows the registry as it was
    i = ilk_id("NEW-A")
    token = lab.deploy("DevToken", "New Token", "NEW", 18)
    lab.sender.send(token.functions.mint(lab.sender.owner, 1_000 * WAD))
    join = lab.deploy("GemJoin", vat.address, i, token.address)
    pip = lab.deploy("MakerOsm", eth_chain.contracts["feed:LINK/USD"])
    clip = lab.deploy("MakerClipper", i)
    for call in (
        vat.functions.rely(join.address),
        vat.functions.init(i),
        pip.functions.kiss(spotter.address),
    ):
        lab.sender.send(call)
    pause_proxy = eth_chain.contracts["MakerPauseProxy"]  # the Spotter's and Dog's ward (their deployer denied)
    with lab.sender.impersonating(pause_proxy, gas_money=10**18):
        for call in (
            spotter.functions.file(i, b"pip".ljust(32, b"\0"), pip.address),
            spotter.functions.file(i, b"mat".ljust(32, b"\0"), 2 * 10**27),
            dog.functions.file(i, b"clip".ljust(32, b"\0"), clip.address),
        ):
            lab.sender.send(call, sender=pause_proxy)
    for call in (
        spotter.functions.poke(i),
        lab.at("MakerIlkRegistry", "MakerIlkRegistry").functions.add(join.address),
        token.functions.approve(join.address, 2**256 - 1),
        join.functions.join(lab.sender.owner, 1_000 * WAD),
    ):
        lab.sender.send(call)
    result = await read(eth_chain, adapter)  # the same adapter finds the new ilk in the registry's list
    assert len(result.positions) == len(before.positions) + 2  # its collateral and its (zero) debt
    (held,) = [p for p in result.positions if p.token == token.address]
    assert (held.amount, held.holder, adapter.unregistered) == (1_000 * WAD, join.address, {})
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        _, _, assets, _ = await maker_risk_positions(client, deployment)
    assert assets[-1] == "NEW"  # a gem the address registry does not know: named by the IlkRegistry


async def test_an_ilk_whose_gem_cannot_be_read_is_uncounted_and_the_rest_stands(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    adapter = MakerAdapter(deployment)
    before = await read(eth_chain, adapter)
    link = deployment.token("LINK").address
    Sender.connect(eth_chain.rpc_url).rpc("anvil_setCode", [link, "0x60006000fd"])  # every call reverts
    after = await read(eth_chain, adapter)
    lost = [p for p in before.positions if p.token == link]
    assert [p.label for p in lost] == ["LINK-A join"]
    assert list(after.positions) == [p for p in before.positions if p.token != link]  # its debt still counts
    (unread,) = after.uncounted
    assert (unread.holder, unread.token, unread.kind, unread.label) == (
        lost[0].holder,
        link,
        BalanceKind.TVL,
        "LINK-A join",
    )
    assert "balanceOf" in unread.reason
