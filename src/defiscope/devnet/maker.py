"""MakerDAO (dss) on the devnet, from our ABI-compatible contracts (contracts/src/Maker.sol), seeded.

Example::

    registry = deploy_maker(sender, ETHEREUM, tokens, contracts)
    registry["MakerVat"], registry["MakerGemJoin:ETH-A"], registry["MakerDai"]

Maker's DAI is its own token (`MakerDai`, minted by the DaiJoin); the devnet's registry token "DAI"
keeps its role in the DEX pools. Ilks ETH-A (WETH, liquidation ratio 150 %) and WBTC-A (145 %) have
pips reading the devnet feeds, Jug stability fees, Dog limits and a 13 % liquidation penalty. Seed vaults
(about $166M of collateral: Maker's mid-2025 TVL scaled down, `devnet.sizes`) range from a safe whale to
one a 5 % ETH drop makes unsafe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Final

from eth_typing import HexStr
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import approve, fund, seed_user, units
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tokens import feed_name
from defiscope.devnet.tx import Sender

WAD: Final = 10**18
RAY: Final = 10**27
RAD: Final = 10**45
SECONDS_PER_YEAR: Final = 31_536_000


def ilk_id(name: str) -> bytes:
    """An ilk name as Maker's bytes32 (``"ETH-A"`` left-aligned, zero padded)."""
    return name.encode().ljust(32, b"\0")


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
    chop: str  # liquidation penalty multiplier
    hole: int  # max DAI in active auctions, whole DAI


ILKS: Final = (
    IlkSpec("ETH-A", "WETH", "ETH/USD", "1.5", "0.0525", 500_000_000, 7_500, "1.13", 40_000_000),
    IlkSpec("WBTC-A", "WBTC", "BTC/USD", "1.45", "0.0586", 200_000_000, 7_500, "1.13", 10_000_000),
)
LINE: Final = 1_000_000_000
HOLE: Final = 100_000_000


@dataclass(frozen=True, slots=True)
class Vault:
    name: str
    ilk: str
    collateral: int  # whole tokens
    dai: int  # whole DAI drawn


VAULTS: Final = (
    Vault("eth whale", "ETH-A", 30_000, 36_000_000),  # CR 250 %
    Vault("btc vault", "WBTC-A", 500, 25_000_000),  # CR 200 %
    Vault("eth vault", "ETH-A", 8_500, 8_000_000),  # CR 319 %: safe through a 50 % ETH drop
    # CR 157.9 %: unsafe (below 150 %) once ETH falls under $2,850, a 5 % drop.
    Vault("eth risky", "ETH-A", 100, 190_000),
)


def _frac(value: str, unit: int) -> int:
    return int(Fraction(value) * unit)


@dataclass(slots=True)
class Maker:
    vat: Contract
    dai: Contract
    dai_join: Contract
    jug: Contract
    spotter: Contract
    dog: Contract
    joins: dict[str, Contract]
    pips: dict[str, Contract]
    clippers: dict[str, Contract]

    def registry(self) -> dict[str, str]:
        found: dict[str, str] = {
            "MakerVat": self.vat.address,
            "MakerDai": self.dai.address,
            "MakerDaiJoin": self.dai_join.address,
            "MakerJug": self.jug.address,
            "MakerSpotter": self.spotter.address,
            "MakerDog": self.dog.address,
        }
        for ilk in self.joins:
            found[f"MakerGemJoin:{ilk}"] = self.joins[ilk].address
            found[f"MakerPip:{ilk}"] = self.pips[ilk].address
            found[f"MakerClipper:{ilk}"] = self.clippers[ilk].address
        return found


def deploy_maker(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], contracts: Mapping[str, str]
) -> dict[str, str]:
    """Deploy and seed Maker on Ethereum (other chains get nothing); return registry entries."""
    if spec.chain_id != 1:
        return {}
    vat = sender.deploy(contract_artifact("Vat"))
    dai = sender.deploy(contract_artifact("MakerDaiToken"))
    dai_join = sender.deploy(contract_artifact("DaiJoin"), vat.address, dai.address)
    sender.send(dai.functions.rely(dai_join.address))
    jug = sender.deploy(contract_artifact("Jug"), vat.address)
    spotter = sender.deploy(contract_artifact("Spotter"), vat.address)
    dog = sender.deploy(contract_artifact("Dog"), vat.address)
    for ward in (jug, spotter, dog):
        sender.send(vat.functions.rely(ward.address))
    sender.send(vat.functions.file(b"Line".ljust(32, b"\0"), LINE * RAD))
    sender.send(jug.functions.file(_b32("vow"), sender.owner))
    sender.send(dog.functions.file(_b32("vow"), sender.owner))
    sender.send(dog.functions.file(_b32("Hole"), HOLE * RAD))
    maker = Maker(vat, dai, dai_join, jug, spotter, dog, {}, {}, {})
    for ilk in ILKS:
        _add_ilk(sender, maker, ilk, tokens[ilk.token], contracts[feed_name(ilk.feed)])
    for vault in VAULTS:
        _open_vault(sender, maker, vault, tokens)
    return maker.registry()


def _b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def _add_ilk(sender: Sender, maker: Maker, ilk: IlkSpec, gem: Contract, feed: str) -> None:
    i = ilk_id(ilk.name)
    vat, jug, spotter, dog = (c.functions for c in (maker.vat, maker.jug, maker.spotter, maker.dog))
    join = sender.deploy(contract_artifact("GemJoin"), maker.vat.address, i, gem.address)
    pip = sender.deploy(contract_artifact("MakerPip"), feed)
    clipper = sender.deploy(contract_artifact("MakerClipper"), i)
    sender.send(clipper.functions.rely(maker.dog.address))
    sender.send(maker.vat.functions.rely(join.address))
    sender.send(vat.init(i))
    sender.send(vat.file(i, _b32("line"), ilk.line * RAD))
    sender.send(vat.file(i, _b32("dust"), ilk.dust * RAD))
    sender.send(spotter.file(i, _b32("pip"), pip.address))
    sender.send(spotter.file(i, _b32("mat"), _frac(ilk.mat, RAY)))
    sender.send(spotter.poke(i))
    sender.send(dog.file(i, _b32("clip"), clipper.address))
    sender.send(dog.file(i, _b32("chop"), _frac(ilk.chop, WAD)))
    sender.send(dog.file(i, _b32("hole"), ilk.hole * RAD))
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
    maker.joins[ilk.name], maker.pips[ilk.name], maker.clippers[ilk.name] = join, pip, clipper


def _calldata(call: ContractFunction) -> HexStr:
    return HexStr(call._encode_transaction_data())


def _open_vault(sender: Sender, maker: Maker, vault: Vault, tokens: Mapping[str, Contract]) -> None:
    ilk = next(i for i in ILKS if i.name == vault.ilk)
    join = maker.joins[ilk.name]
    user = seed_user(sender, "maker", vault.name)
    amount = fund(sender, tokens, user, ilk.token, vault.collateral)
    approve(sender, tokens[ilk.token], user, join.address)
    sender.send(join.functions.join(user, amount), sender=user)
    ink = amount * 10 ** (18 - tokens[ilk.token].functions.decimals().call())
    rate = maker.vat.functions.ilks(ilk_id(ilk.name)).call()[1]
    dart = vault.dai * WAD * RAY // rate
    sender.send(maker.vat.functions.frob(ilk_id(ilk.name), user, user, user, ink, dart), sender=user)
    sender.send(maker.vat.functions.hope(maker.dai_join.address), sender=user)
    sender.send(maker.dai_join.functions.exit(user, units(maker.dai, vault.dai)), sender=user)
    sender.rpc("anvil_stopImpersonatingAccount", [user])
