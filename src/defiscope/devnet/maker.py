"""MakerDAO (dss) on the devnet, shaped like mainnet, from our stand-ins (contracts/src/Maker*.sol), seeded.

Example::

    registry = deploy_maker(sender, ETHEREUM, tokens, contracts)
    registry["MakerIlkRegistry"], registry["MakerCdpManager"], registry["MakerLitePsm:LITE-PSM-USDC-A"]

Maker's DAI is its own token (`MakerDai`, minted by the DaiJoin); the devnet's registry token "DAI" keeps
its role in the DEX pools. Twelve ilks over five collateral tokens and a placeholder, as on mainnet: ETH-A/B/C,
WBTC-A/B/C, WSTETH-A/B and LINK-A (GemJoins with Clippers, IlkRegistry class 1, added by ``add(join)``),
PSM-USDC-A (a USDC GemJoin at a 100 % ratio whose urn is driven directly, as the PSM's own urn is),
LITE-PSM-USDC-A (joinless, class 6: a LitePSM whose USDC sits in its pocket) and RWA001-A (class 3, a
placeholder token, ``put`` by governance). Pips are OSMs that answer only ``kiss``ed callers (the Spotter).
Vaults are opened as on mainnet: each owner's DSProxy runs DssProxyActions' ``openLockGemAndDraw``, so
the CdpManager owns an UrnHandler urn per cdp, owned by the proxy. Collateral is about $166M (Maker's
mid-2025 TVL scaled down, `devnet.sizes`); one ETH-A vault becomes unsafe after a 5 % ETH drop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Final

from eth_typing import HexStr
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import approve, fund, seed_address, seed_user, units
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tokens import feed_name
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.protocols.maker.ilks import ZERO_ADDRESS, ilk_id

WAD: Final = 10**18
RAY: Final = 10**27
RAD: Final = 10**45
SECONDS_PER_YEAR: Final = 31_536_000
#: The IlkRegistry classes our devnet uses (makerdao/ilk-registry; 6 from dss-lite-psm's init).
CLASS_RWA: Final = 3
CLASS_JOINLESS: Final = 6

__all__ = [
    "DIRECT_URNS",
    "ILKS",
    "RAY",
    "VAULTS",
    "WAD",
    "deploy_maker",
    "direct_urn",
    "duty_for",
    "ilk_id",
    "open_vault",
]


def duty_for(annual: str) -> int:
    """The per-second ray whose compounding over a year gives ``annual`` (as Maker governance sets it)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int((1 + Decimal(annual)) ** (Decimal(1) / SECONDS_PER_YEAR) * RAY)


@dataclass(frozen=True, slots=True)
class IlkSpec:
    name: str
    token: str
    feed: str
    mat: str  # liquidation ratio
    fee: str  # annual stability fee
    line: int  # debt ceiling, whole DAI
    dust: int  # minimum vault debt, whole DAI
    chop: str = "1.13"  # liquidation penalty multiplier
    hole: int = 20_000_000  # max DAI in active auctions, whole DAI


#: Vault ilks (GemJoin + Clipper, registry class 1), with mid-2025 mainnet ratios and fees.
ILKS: Final = (
    IlkSpec("ETH-A", "WETH", "ETH/USD", "1.45", "0.0525", 500_000_000, 7_500, hole=40_000_000),
    IlkSpec("ETH-B", "WETH", "ETH/USD", "1.3", "0.0575", 200_000_000, 25_000),
    IlkSpec("ETH-C", "WETH", "ETH/USD", "1.7", "0.05", 500_000_000, 3_500),
    IlkSpec("WBTC-A", "WBTC", "BTC/USD", "1.45", "0.0586", 200_000_000, 7_500),
    IlkSpec("WBTC-B", "WBTC", "BTC/USD", "1.3", "0.0636", 100_000_000, 25_000),
    IlkSpec("WBTC-C", "WBTC", "BTC/USD", "1.75", "0.0611", 200_000_000, 3_500),
    IlkSpec("WSTETH-A", "wstETH", "WSTETH/USD", "1.5", "0.0575", 300_000_000, 7_500),
    IlkSpec("WSTETH-B", "wstETH", "WSTETH/USD", "1.75", "0.055", 300_000_000, 3_500),
    IlkSpec("LINK-A", "LINK", "LINK/USD", "1.65", "0.0625", 10_000_000, 7_500),
    IlkSpec("PSM-USDC-A", "USDC", "USDC/USD", "1", "0", 100_000_000, 0, chop="1"),
)
LITE_PSM: Final = IlkSpec("LITE-PSM-USDC-A", "USDC", "USDC/USD", "1", "0", 1_000_000_000, 0, chop="1")
RWA: Final = IlkSpec("RWA001-A", "RWA001", "", "1", "0.04", 20_000_000, 0, chop="1")
RWA_VALUE: Final = 15_000_000  # whole DAI one RWA001 token is worth to the Vat (its spot at a 100 % ratio)
LINE: Final = 3_000_000_000
HOLE: Final = 100_000_000


@dataclass(frozen=True, slots=True)
class Vault:
    name: str
    ilk: str
    collateral: int  # whole tokens
    dai: int  # whole DAI drawn


#: Opened through each owner's DSProxy and the CdpManager (ratios at ETH $3,000, BTC $100,000, wstETH $3,600).
VAULTS: Final = (
    Vault("eth whale", "ETH-A", 14_000, 16_800_000),  # CR 250 %
    Vault("eth vault", "ETH-A", 8_500, 8_000_000),  # CR 319 %: safe through a 50 % ETH drop
    # CR 152.3 %: unsafe (below 145 %) once ETH falls under $2,856.50, a 5 % drop.
    Vault("eth risky", "ETH-A", 100, 197_000),
    Vault("eth-b vault", "ETH-B", 3_000, 5_000_000),  # CR 180 %
    Vault("eth-c vault", "ETH-C", 7_000, 7_000_000),  # CR 300 %
    Vault("btc vault", "WBTC-A", 250, 12_500_000),  # CR 200 %
    Vault("btc-b vault", "WBTC-B", 50, 3_000_000),  # CR 167 %
    Vault("btc-c vault", "WBTC-C", 100, 4_000_000),  # CR 250 %
    Vault("wsteth vault", "WSTETH-A", 3_000, 5_400_000),  # CR 200 %
    Vault("wsteth-b vault", "WSTETH-B", 1_500, 2_000_000),  # CR 270 %
    Vault("link vault", "LINK-A", 100_000, 600_000),  # CR 250 %
)
#: Urns driven directly through the Vat (no CdpManager): found by the Vat's frob LogNotes only.
DIRECT_URNS: Final = (
    Vault("psm", "PSM-USDC-A", 3_000_000, 3_000_000),
    Vault("rwa001 urn", "RWA001-A", 1, 10_000_000),
)
LITE_PSM_SOLD: Final = 7_500_000  # whole USDC sold to the LitePSM (held by its pocket)


def _frac(value: str, unit: int) -> int:
    return int(Fraction(value) * unit)


def _b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


@dataclass(slots=True)
class Maker:
    vat: Contract
    dai: Contract
    dai_join: Contract
    jug: Contract
    spotter: Contract
    dog: Contract
    registry: Contract
    manager: Contract
    actions: Contract
    joins: dict[str, Contract] = field(default_factory=dict)
    pips: dict[str, Contract] = field(default_factory=dict)
    clippers: dict[str, Contract] = field(default_factory=dict)
    lite_psm: Contract | None = None

    def addresses(self) -> dict[str, str]:
        found: dict[str, str] = {
            "MakerVat": self.vat.address,
            "MakerDai": self.dai.address,
            "MakerDaiJoin": self.dai_join.address,
            "MakerJug": self.jug.address,
            "MakerSpotter": self.spotter.address,
            "MakerDog": self.dog.address,
            "MakerIlkRegistry": self.registry.address,
            "MakerCdpManager": self.manager.address,
            "MakerProxyActions": self.actions.address,
        }
        found.update({f"MakerGemJoin:{ilk}": join.address for ilk, join in self.joins.items()})
        found.update({f"MakerPip:{ilk}": pip.address for ilk, pip in self.pips.items()})
        found.update({f"MakerClipper:{ilk}": clip.address for ilk, clip in self.clippers.items()})
        if self.lite_psm is not None:
            found[f"MakerLitePsm:{LITE_PSM.name}"] = self.lite_psm.address
        return found


def deploy_maker(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], contracts: Mapping[str, str]
) -> dict[str, str]:
    """Deploy and seed Maker on Ethereum (other chains get nothing); return registry entries."""
    if spec.chain_id != 1:
        return {}
    maker = _deploy_core(sender)
    for ilk in ILKS:
        _add_ilk(sender, maker, ilk, tokens[ilk.token], contracts[feed_name(ilk.feed)])
        sender.send(maker.registry.functions.add(maker.joins[ilk.name].address))
    for vault in VAULTS:
        open_vault(sender, maker, vault, tokens)
    _deploy_lite_psm(sender, maker, tokens["USDC"], contracts[feed_name(LITE_PSM.feed)])
    _deploy_rwa(sender, maker)
    for urn in DIRECT_URNS:
        _frob_directly(sender, maker, urn)
    return maker.addresses()


def _deploy_core(sender: Sender) -> Maker:
    vat = sender.deploy(contract_artifact("Vat"))
    dai = sender.deploy(contract_artifact("MakerDaiToken"))
    dai_join = sender.deploy(contract_artifact("DaiJoin"), vat.address, dai.address)
    sender.send(dai.functions.rely(dai_join.address))
    jug = sender.deploy(contract_artifact("Jug"), vat.address)
    spotter = sender.deploy(contract_artifact("Spotter"), vat.address)
    dog = sender.deploy(contract_artifact("Dog"), vat.address)
    for ward in (jug, spotter, dog):
        sender.send(vat.functions.rely(ward.address))
    sender.send(vat.functions.file(_b32("Line"), LINE * RAD))
    sender.send(jug.functions.file(_b32("vow"), sender.owner))
    sender.send(dog.functions.file(_b32("vow"), sender.owner))
    sender.send(dog.functions.file(_b32("Hole"), HOLE * RAD))
    registry = sender.deploy(contract_artifact("MakerIlkRegistry"), vat.address, dog.address, spotter.address)
    manager = sender.deploy(contract_artifact("MakerCdpManager"), vat.address)
    actions = sender.deploy(contract_artifact("MakerProxyActions"))
    return Maker(vat, dai, dai_join, jug, spotter, dog, registry, manager, actions)


def _init_ilk(sender: Sender, maker: Maker, ilk: IlkSpec) -> None:
    """Vat and Jug init, ceilings and the stability fee (no price, no join)."""
    i = ilk_id(ilk.name)
    vat, jug = maker.vat.functions, maker.jug.functions
    sender.send(vat.init(i))
    sender.send(vat.file(i, _b32("line"), ilk.line * RAD))
    sender.send(vat.file(i, _b32("dust"), ilk.dust * RAD))
    # Jug.file(duty) needs rho == now: init and file in one block (automine off for the pair).
    sender.rpc("evm_setAutomine", [False])
    try:
        sender.w3.eth.send_transaction({"from": sender.owner, "to": maker.jug.address, "data": _calldata(jug.init(i))})
        sender.w3.eth.send_transaction(
            {
                "from": sender.owner,
                "to": maker.jug.address,
                "gas": 200_000,
                "data": _calldata(jug.file(i, _b32("duty"), duty_for(ilk.fee))),
            }
        )
        sender.rpc("evm_mine", [])
    finally:
        sender.rpc("evm_setAutomine", [True])


def _price(sender: Sender, maker: Maker, ilk: IlkSpec, feed: str) -> Contract:
    """An OSM on the feed, kissed for the Spotter only, filed as the ilk's pip with its ratio, then poked."""
    i = ilk_id(ilk.name)
    pip = sender.deploy(contract_artifact("MakerOsm"), feed)
    sender.send(pip.functions.kiss(maker.spotter.address))
    sender.send(maker.spotter.functions.file(i, _b32("pip"), pip.address))
    sender.send(maker.spotter.functions.file(i, _b32("mat"), _frac(ilk.mat, RAY)))
    sender.send(maker.spotter.functions.poke(i))
    maker.pips[ilk.name] = pip
    return pip


def _add_ilk(sender: Sender, maker: Maker, ilk: IlkSpec, gem: Contract, feed: str) -> None:
    i = ilk_id(ilk.name)
    dog = maker.dog.functions
    join = sender.deploy(contract_artifact("GemJoin"), maker.vat.address, i, gem.address)
    clipper = sender.deploy(contract_artifact("MakerClipper"), i)
    sender.send(clipper.functions.rely(maker.dog.address))
    sender.send(maker.vat.functions.rely(join.address))
    _init_ilk(sender, maker, ilk)
    _price(sender, maker, ilk, feed)
    sender.send(dog.file(i, _b32("clip"), clipper.address))
    sender.send(dog.file(i, _b32("chop"), _frac(ilk.chop, WAD)))
    sender.send(dog.file(i, _b32("hole"), ilk.hole * RAD))
    maker.joins[ilk.name], maker.clippers[ilk.name] = join, clipper


def _calldata(call: ContractFunction) -> HexStr:
    return HexStr(call._encode_transaction_data())


def proxy_for(sender: Sender, owner: str) -> Contract:
    """A DSProxy owned by ``owner`` (deployed by account 0, then handed over with ``setOwner``)."""
    proxy = sender.deploy(contract_artifact("MakerDSProxy"))
    sender.send(proxy.functions.setOwner(owner))
    return proxy


def open_vault(sender: Sender, maker: Maker, vault: Vault, tokens: Mapping[str, Contract]) -> int:
    """The owner's DSProxy runs ``openLockGemAndDraw``: a new cdp, its collateral locked, the DAI drawn."""
    ilk = next(i for i in ILKS if i.name == vault.ilk)
    user = seed_user(sender, "maker", vault.name)
    proxy = proxy_for(sender, user)
    amount = fund(sender, tokens, user, ilk.token, vault.collateral)
    approve(sender, tokens[ilk.token], user, proxy.address)
    action = maker.actions.functions.openLockGemAndDraw(
        maker.manager.address,
        maker.jug.address,
        maker.joins[ilk.name].address,
        maker.dai_join.address,
        ilk_id(ilk.name),
        amount,
        units(maker.dai, vault.dai),
        True,
    )
    sender.send(proxy.functions.execute(maker.actions.address, _calldata(action)), sender=user)
    sender.rpc("anvil_stopImpersonatingAccount", [user])
    return int(maker.manager.functions.cdpi().call())


def _deploy_lite_psm(sender: Sender, maker: Maker, usdc: Contract, feed: str) -> None:
    """Onboarded as dss-lite-psm's init does: huge ink on its own urn, put in the registry as class 6."""
    i = ilk_id(LITE_PSM.name)
    pocket = seed_user(sender, "maker", "lite psm pocket")
    psm = sender.deploy(contract_artifact("MakerLitePsm"), i, usdc.address, maker.dai_join.address, pocket)
    approve(sender, usdc, pocket, psm.address)  # the pocket lets the LitePSM spend its gem, as on mainnet
    sender.rpc("anvil_stopImpersonatingAccount", [pocket])
    _init_ilk(sender, maker, LITE_PSM)
    pip = _price(sender, maker, LITE_PSM, feed)
    vink = MAX_UINT256 // RAY
    sender.send(maker.vat.functions.slip(i, psm.address, vink))
    sender.send(maker.vat.functions.grab(i, psm.address, psm.address, ZERO_ADDRESS, vink, 0))
    sender.send(psm.functions.file(_b32("buf"), LITE_PSM_SOLD * WAD))
    sender.send(psm.functions.fill())
    seller = seed_user(sender, "maker", "lite psm seller")
    amount = fund(sender, {"USDC": usdc}, seller, "USDC", LITE_PSM_SOLD)
    approve(sender, usdc, seller, psm.address)
    sender.send(psm.functions.sellGem(seller, amount), sender=seller)
    sender.rpc("anvil_stopImpersonatingAccount", [seller])
    sender.send(psm.functions.file(_b32("buf"), 0))
    name, symbol = usdc.functions.name().call(), usdc.functions.symbol().call()
    put = maker.registry.functions.put(
        i, ZERO_ADDRESS, usdc.address, 6, CLASS_JOINLESS, pip.address, ZERO_ADDRESS, name, symbol
    )
    sender.send(put)
    maker.lite_psm = psm


def _deploy_rwa(sender: Sender, maker: Maker) -> None:
    """A MIP-21 style ilk: a one-unit placeholder token, its spot filed by governance, put as class 3."""
    i = ilk_id(RWA.name)
    token = sender.deploy(contract_artifact("DevToken"), "RWA-001", RWA.token, 18)
    sender.send(token.functions.mint(sender.owner, WAD))
    join = sender.deploy(contract_artifact("GemJoin"), maker.vat.address, i, token.address)
    sender.send(maker.vat.functions.rely(join.address))
    _init_ilk(sender, maker, RWA)
    sender.send(maker.vat.functions.file(i, _b32("spot"), RWA_VALUE * RAY))
    put = maker.registry.functions.put(
        i, join.address, token.address, 18, CLASS_RWA, ZERO_ADDRESS, ZERO_ADDRESS, "RWA-001", RWA.token
    )
    sender.send(put)
    maker.joins[RWA.name] = join


def _frob_directly(sender: Sender, maker: Maker, vault: Vault) -> None:
    """Join the gem and frob the urn straight through the Vat (as the PSM's and RWA urns are driven)."""
    join = maker.joins[vault.ilk]
    gem = sender.contract(contract_artifact("DevToken"), join.functions.gem().call())
    user = seed_user(sender, "maker", vault.name)
    amount = units(gem, vault.collateral)
    sender.send(gem.functions.transfer(user, amount))
    approve(sender, gem, user, join.address)
    sender.send(join.functions.join(user, amount), sender=user)
    i = ilk_id(vault.ilk)
    ink = amount * 10 ** (18 - gem.functions.decimals().call())
    rate = maker.vat.functions.ilks(i).call()[1]
    dart = vault.dai * WAD * RAY // rate
    sender.send(maker.vat.functions.frob(i, user, user, user, ink, dart), sender=user)
    sender.send(maker.vat.functions.hope(maker.dai_join.address), sender=user)
    sender.send(maker.dai_join.functions.exit(user, units(maker.dai, vault.dai)), sender=user)
    sender.rpc("anvil_stopImpersonatingAccount", [user])


def seeded_cdp(name: str) -> int:
    """The cdp id of a seeded vault: the CdpManager numbers them in `VAULTS` order, from 1, before any other."""
    return next(n for n, vault in enumerate(VAULTS, start=1) if vault.name == name)


def direct_urn(vault: Vault) -> str:
    """The urn of a directly driven vault: its seeded owner's address."""
    return seed_address("maker", vault.name)
