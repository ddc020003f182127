"""Which part of a protocol's fees the protocol keeps (its revenue), per adapter slug: the knob to read from chain
where the contract has one, else a documented constant. Pure data and small pure functions; no I/O.

>>> protocol_share("lido", 1000)               # Lido.getFee(): 1000 of 10,000
Fraction(1, 10)
>>> protocol_share("uniswap-v3", 0)            # slot0().feeProtocol = 0: the fee switch is off (mainnet)
Fraction(0, 1)
>>> protocol_share("pancakeswap-v3", 3200 | 3200 << 16)  # 32 % of the swap fee, each token
Fraction(8, 25)
>>> split_fees(1_000_000, Fraction(1, 10))     # (protocol's revenue, what the suppliers/LPs keep)
(100000, 900000)
>>> FeeShare.read("aave-v3", 1000, "getReserveData(asset).configuration bits 64-79")  # read with the rate
FeeShare(share=Fraction(1, 10), source='getReserveData(asset).configuration bits 64-79 = 1000 (of 10,000)')

Mainnet's settings (late 2025), which the devnet sets where the contract has the knob:

| slug | knob (read from chain) or constant | mainnet | source |
|---|---|---|---|
| aave-v3 | reserve factor per reserve (configuration bits 64-79, bps) | 10-20 % | Aave governance |
| compound-v2 | `reserveFactorMantissa()` per cToken (1e18) | 7.5-25 % | Compound docs |
| compound-v3 | none: the spread, borrow minus supply interest, from the rates and totals | spread | Compound III docs |
| uniswap-v2 | factory `feeTo()` (zero: off; else 1/6 of 0.30 %) | off | Uniswap V2 docs |
| uniswap-v3 | pool `slot0().feeProtocol` (4 bits a token: 1/n; 0 off) | off | Uniswap governance |
| pancakeswap-v2 | factory `feeTo()` (zero: off; else 8/25 of the 0.25 %) | 32 % | PancakeSwap docs, Trading fees |
| pancakeswap-v3 | pool `slot0().feeProtocol` (16 bits a token, of 10,000) | 32-34 % | PancakeSwap docs |
| curve | pool `admin_fee()` (of 1e10) | 50 % | Curve docs (classic pools) |
| lido | `Lido.getFee()` (of 10,000; half node operators, half DAO) | 10 % | Lido docs |
| makerdao | constant: stability fees accrue to the Vow (surplus) | 100 % | Sky/Maker docs |
| eigenlayer | constant: rewards go to operators and stakers | 0 % | EigenLayer docs |

Fees here are the gross figures the volume and lending code measures (swap fees, borrow interest, staking
rewards); the shares say which part of those is the protocol's, not how much of it reaches token holders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from defiscope.chain.multicall import CallResult


class Scale(Enum):
    """How a raw on-chain knob encodes the protocol's share of the fees."""

    BPS = "of 10,000"
    WAD = "of 1e18"
    CURVE = "of 1e10"
    UNISWAP_V3_NIBBLE = "1/n of the fee, n in the low 4 bits (token0's), 0 off"
    PANCAKE_V3_HALF = "of 10,000 in the low 16 bits (token0's)"
    FEE_TO = "zero address (0): off; any other (1): 1/6 of the fee"
    PANCAKE_FEE_TO = "zero address (0): off; any other (1): 8/25 of the fee (PancakeSwap docs)"


@dataclass(frozen=True, slots=True)
class OnChainKnob:
    """A share read from chain: ``call`` on ``contract`` (a registry name or what it is, e.g. "each pool")."""

    contract: str
    call: str
    scale: Scale


@dataclass(frozen=True, slots=True)
class ConstantShare:
    """A share no contract exposes: the documented figure and where it comes from."""

    share: Fraction
    source: str


@dataclass(frozen=True, slots=True)
class RevenueShare:
    slug: str
    knob: OnChainKnob | ConstantShare | None  # None: no share of fees (revenue measured otherwise, see note)
    mainnet: Fraction | None  # mainnet's setting, for reference (None: varies per market/pool)
    note: str


def _pct(value: str) -> Fraction:
    return Fraction(value) / 100


SHARES: Final[Mapping[str, RevenueShare]] = MappingProxyType(
    {
        share.slug: share
        for share in (
            RevenueShare(
                "aave-v3",
                OnChainKnob("AaveV3Pool (each reserve)", "getReserveData(address) configuration bits 64-79", Scale.BPS),
                None,
                "reserve factor: the treasury's share of borrow interest, per reserve",
            ),
            RevenueShare(
                "compound-v2",
                OnChainKnob("CompoundV2cToken (each)", "reserveFactorMantissa()(uint256)", Scale.WAD),
                None,
                "reserve factor: the reserves' share of borrow interest, per market",
            ),
            RevenueShare(
                "compound-v3",
                None,
                None,
                "no reserve factor: the protocol keeps borrow interest minus supply interest; the share is derived "
                "from getBorrowRate/getSupplyRate at getUtilization and totalBorrow/totalSupply (`FeeShare.spread`)",
            ),
            RevenueShare(
                "uniswap-v2",
                OnChainKnob("UniswapV2Factory", "feeTo()(address)", Scale.FEE_TO),
                Fraction(0),
                "fee switch off on mainnet: LPs keep the whole 0.30 %",
            ),
            RevenueShare(
                "uniswap-v3",
                OnChainKnob("each pool", "slot0() feeProtocol", Scale.UNISWAP_V3_NIBBLE),
                Fraction(0),
                "fee switch off on mainnet (feeProtocol 0 on every pool)",
            ),
            RevenueShare(
                "pancakeswap-v2",
                OnChainKnob("PancakeV2Factory", "feeTo()(address)", Scale.PANCAKE_FEE_TO),
                Fraction(8, 25),
                "0.17 % to LPs, 0.0225 % treasury, 0.0575 % CAKE buy-back and burn: the pair mints 8/25 of the growth "
                "in sqrt(k) to feeTo (PancakePair._mintFee)",
            ),
            RevenueShare(
                "pancakeswap-v3",
                OnChainKnob("each pool", "slot0() feeProtocol", Scale.PANCAKE_V3_HALF),
                None,
                "33 % (0.01 % tier), 34 % (0.05 %), 32 % (0.25 % and 1 %) on BNB Chain",
            ),
            RevenueShare(
                "curve",
                OnChainKnob("each pool", "admin_fee()(uint256)", Scale.CURVE),
                _pct("50"),
                "admin fee: half of classic pools' fees to veCRV holders",
            ),
            RevenueShare(
                "lido",
                OnChainKnob("Lido", "getFee()(uint16)", Scale.BPS),
                _pct("10"),
                "10 % of staking rewards, half to node operators and half to the DAO treasury "
                "(getFeeDistribution): revenue is the whole fee, as DefiLlama's fees/lido.ts counts it",
            ),
            RevenueShare(
                "makerdao",
                ConstantShare(Fraction(1), "Sky/Maker docs: Jug.drip folds stability fees into the Vow's surplus"),
                Fraction(1),
                "all stability fees accrue to the surplus buffer (the savings rate is a cost, not a split)",
            ),
            RevenueShare(
                "eigenlayer",
                ConstantShare(Fraction(0), "EigenLayer docs: rewards go to operators and stakers"),
                Fraction(0),
                "no protocol fee on restaking rewards",
            ),
        )
    }
)


class UnknownRevenue(KeyError):
    """No revenue-share entry for a slug, or a share that needs a knob value and got none."""


def decode(scale: Scale, raw: int) -> Fraction:
    """The share a raw knob value stands for."""
    if scale is Scale.BPS:
        return Fraction(raw, 10_000)
    if scale is Scale.WAD:
        return Fraction(raw, 10**18)
    if scale is Scale.CURVE:
        return Fraction(raw, 10**10)
    if scale is Scale.UNISWAP_V3_NIBBLE:
        denominator = raw % 16
        return Fraction(1, denominator) if denominator else Fraction(0)
    if scale is Scale.PANCAKE_V3_HALF:
        return Fraction(raw & 0xFFFF, 10_000)
    if scale is Scale.PANCAKE_FEE_TO:
        return Fraction(8, 25) if raw else Fraction(0)
    return Fraction(1, 6) if raw else Fraction(0)  # FEE_TO: the address as an int


def protocol_share(slug: str, raw: int | None = None) -> Fraction:
    """The protocol's share of ``slug``'s fees: ``raw`` is the knob's value read from chain (for an on-chain
    knob), ignored for a constant. UnknownRevenue when the slug has no share or the knob value is missing."""
    entry = SHARES.get(slug)
    if entry is None or entry.knob is None:
        raise UnknownRevenue(f"{slug}: no fee share ({entry.note if entry else 'no entry'})")
    if isinstance(entry.knob, ConstantShare):
        return entry.knob.share
    if raw is None:
        raise UnknownRevenue(f"{slug}: needs {entry.knob.call} on {entry.knob.contract}")
    return decode(entry.knob.scale, raw)


def documented_shares() -> dict[str, Fraction]:
    """The shares no contract exposes (the documented constants), by slug: what is known without a chain read.

    >>> sorted(documented_shares().items())
    [('eigenlayer', Fraction(0, 1)), ('makerdao', Fraction(1, 1))]
    """
    return {slug: e.knob.share for slug, e in SHARES.items() if isinstance(e.knob, ConstantShare)}


def split_fees(fees: int, share: Fraction) -> tuple[int, int]:
    """(protocol's revenue, the rest) of ``fees`` integer units; the protocol's part rounds down, as contracts do."""
    if not 0 <= share <= 1:
        raise ValueError(f"a share of fees is between 0 and 1, not {share}")
    revenue = fees * share.numerator // share.denominator
    return revenue, fees - revenue


@dataclass(frozen=True, slots=True)
class FeeShare:
    """The protocol's share of the fees one market's rate pays, read at the rate's block: `share`, and
    `source` naming the knob and its raw value; or `share` None and `source` saying why it could not be read.

    Carried by the rate it splits (`protocols.yields.Yield.fee_share`), so it has the rate's block and
    provenance. A share is at most 1; below 0 only for a spread (`spread`: supply interest above borrow
    interest, a loss).
    """

    share: Fraction | None
    source: str

    @staticmethod
    def read(slug: str, raw: int, call: str) -> FeeShare:
        """The share ``raw`` (read by ``call``) stands for under `slug`'s knob."""
        knob = SHARES[slug].knob
        if not isinstance(knob, OnChainKnob):
            raise UnknownRevenue(f"{slug}: no on-chain knob to decode {call} = {raw} with")
        return FeeShare(decode(knob.scale, raw), f"{call} = {raw} ({knob.scale.value})")

    @staticmethod
    def missing(reason: str) -> FeeShare:
        return FeeShare(None, reason)

    @staticmethod
    def spread(borrow_interest: int, supply_interest: int, how: str) -> FeeShare:
        """Compound III: the protocol keeps borrow interest minus supply interest (same units, e.g. rate x
        total); its share of the borrow interest is 1 - supply / borrow. No borrow interest: no share."""
        if borrow_interest <= 0:
            return FeeShare.missing(f"{how}: no borrow interest, so no share of it")
        share = 1 - Fraction(supply_interest, borrow_interest)
        return FeeShare(share, f"{how} = 1 - {supply_interest} / {borrow_interest}")


def knob_share(slug: str, result: CallResult) -> FeeShare:
    """The share a knob's call result stands for (an address knob, `feeTo`, as its integer); a failed read is a
    missing share with the call and why, never a 0."""
    if not result.success:
        return FeeShare.missing(f"{result.call.describe()} failed: {result.error}")
    raw = result.one()
    return FeeShare.read(slug, int(raw, 16) if isinstance(raw, str) else int(raw), result.call.describe())
