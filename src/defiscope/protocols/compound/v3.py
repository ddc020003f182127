"""Compound III (Comet) adapter: TVL = what each Comet holds of its base and collateral tokens; borrowed =
`totalBorrow`.

Comets are data: the registry names every market ``CompoundV3Comet:<base symbol>`` (on Ethereum cUSDCv3,
cWETHv3, cUSDTv3, cWstETHv3, cUSDSv3, cWBTCv3). Per Comet, the base token and collateral list come from
`baseToken`, `numAssets` and `getAssetInfo` (re-learnt when `numAssets` grows, as governance lists new
collateral); TVL is the Comet's ERC-20 balance of each of them (as
DefiLlama's compound-v3 adapter sums them); borrowed is `totalBorrow()`. Every read is a public function of
the real Comet (CometMainInterface or CometExt); the market totals and indices come from `totalsBasic()`.

    adapter = CompoundV3Adapter(deployment)
    positions = await adapter.positions(reader)
    adapter.surface()        # the Comets and the calls and events our code makes on them
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.bad_debt import GET_RESERVES
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo, Uncounted
from defiscope.protocols.compound.rates import CometRates
from defiscope.protocols.lending.rates import SECONDS_PER_YEAR, apr_to_apy, per_second_to_apr
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal

COMET_PREFIX: Final = "CompoundV3Comet:"
COMET_INTERFACE: Final = "compound/Comet"

# Comet's public functions our code reads (names and types as in the real ABI, tests/fixtures/abi/compound).
BASE_TOKEN: Final = "baseToken()(address)"
BASE_TOKEN_PRICE_FEED: Final = "baseTokenPriceFeed()(address)"
BASE_SCALE: Final = "baseScale()(uint256)"
NUM_ASSETS: Final = "numAssets()(uint8)"
ASSET_INFO: Final = "getAssetInfo(uint8)((uint8,address,address,uint64,uint64,uint64,uint64,uint128))"
TOTAL_BORROW: Final = "totalBorrow()(uint256)"
#: CometExt.totalsBasic(): (baseSupplyIndex, baseBorrowIndex, trackingSupplyIndex, trackingBorrowIndex,
#: totalSupplyBase, totalBorrowBase, lastAccrualTime, pauseFlags); the fields themselves are internal storage.
TOTALS_BASIC: Final = "totalsBasic()((uint64,uint64,uint64,uint64,uint104,uint104,uint40,uint8))"
GET_PRICE: Final = "getPrice(address)(uint256)"
USER_BASIC: Final = "userBasic(address)(int104,uint64,uint64,uint16,uint8)"
COLLATERAL_BALANCE: Final = "collateralBalanceOf(address,address)(uint128)"
BALANCE_OF: Final = "balanceOf(address)(uint256)"
#: Comet's rate immutables (declared `uint public immutable`), in `CometRates`' field order.
CURVE_READS: Final = tuple(
    f"{side}{name}()(uint256)"
    for side in ("supply", "borrow")
    for name in ("Kink", "PerSecondInterestRateSlopeLow", "PerSecondInterestRateSlopeHigh", "PerSecondInterestRateBase")
)
#: The curve, then the utilisation it is evaluated at.
RATE_READS: Final = (*CURVE_READS, "getUtilization()(uint256)")
TOTAL_SUPPLY: Final = "totalSupply()(uint256)"
#: The totals the spread (the protocol's revenue: borrow minus supply interest) weighs the two rates by.
SPREAD_READS: Final = (TOTAL_SUPPLY, TOTAL_BORROW)
#: Withdraw's ``src``: the accounts that took base out (borrowers among them), scanned by the risk path.
WITHDRAW_EVENT: Final = "Withdraw(address,address,uint256)"
COMET_CALLS: Final = (
    BASE_TOKEN,
    BASE_TOKEN_PRICE_FEED,
    BASE_SCALE,
    NUM_ASSETS,
    ASSET_INFO,
    TOTAL_BORROW,
    TOTALS_BASIC,
    GET_PRICE,
    USER_BASIC,
    COLLATERAL_BALANCE,
    *RATE_READS,
    TOTAL_SUPPLY,
    GET_RESERVES,  # the risk score's bad debt (`protocols.bad_debt`): negative reserves
)

#: Comets whose 8-decimal prices (`getPrice`) are in units of their base token, not USD: their base price
#: feed is a constant 1e8 (cWETHv3's collateral feeds are in ETH, cWstETHv3's in wstETH since Compound's
#: change_base_price_feed proposal, cWBTCv3's in BTC). Keyed by the registry's base symbol; any other Comet
#: prices in USD.
PRICE_QUOTES: Final[Mapping[str, str]] = MappingProxyType({"WETH": "WETH", "wstETH": "wstETH", "WBTC": "WBTC"})
USD: Final = "USD"

INFO: Final = ProtocolInfo(
    slug="compound-v3",
    name="Compound V3",
    category="Lending",
    methodology=(
        "Per Comet market: TVL is the Comet's token balance of its base token and of each collateral asset "
        "(getAssetInfo); borrowed is totalBorrow of the base token. Supply and borrow APRs are "
        "getSupplyRate/getBorrowRate at getUtilization, per second, times 31,536,000 seconds."
    ),
    url="https://compound.finance",
    counts=(
        "Each Comet's ERC-20 balance of its base token (suppliers' base not lent out, plus reserves) and of "
        "every collateral asset it lists (suppliers' collateral plus absorbed collateral not yet bought), as "
        "TVL; totalBorrow() (principal accrued to the block read) as borrowed. Amounts are raw token units, "
        "priced downstream. A balance that cannot be read (a collateral token without code) is listed as not "
        "counted, with the reason; the Comet's other holdings stand."
    ),
    discovery=(
        "The Comets are data, from the registry (CompoundV3Comet:<base>): on Ethereum cUSDCv3, cWETHv3, "
        "cUSDTv3, cWstETHv3, cUSDSv3 and cWBTCv3 (Compound's deployments/mainnet roots). Each Comet's base "
        "token and collateral list are read from it (baseToken, numAssets, getAssetInfo) and cached; "
        "borrowers for the risk report come from each Comet's Withdraw events."
    ),
    defillama_difference=(
        "Same figure as DefiLlama's compound-v3 adapter, which sums each Comet's balance of its base and "
        "collateral tokens and reports totalBorrow as borrowed. Differences: DefiLlama lists its Ethereum "
        "Comets by hand (cUSDCv3, cWETHv3, cUSDTv3, cWstETHv3, cUSDSv3); our registry also has cWBTCv3, a "
        "live Comet. Yields are ours (DefiLlama's TVL adapter has none)."
    ),
)


@dataclass(frozen=True, slots=True)
class CometAssets:
    base: str
    collateral: tuple[str, ...]


def comets(deployment: Deployment) -> dict[str, str]:
    """Comet markets of a deployment: base symbol -> address."""
    return {n[len(COMET_PREFIX) :]: a for n, a in deployment.contracts.items() if n.startswith(COMET_PREFIX)}


def price_quote(base_symbol: str) -> str:
    """What a Comet's prices are in: "USD", or the symbol of the token its base price feed counts as 1."""
    return PRICE_QUOTES.get(base_symbol, USD)


def comet_surface(deployment: Deployment) -> tuple[ContractUse, ...]:
    """Every Comet of the deployment with the calls (adapter, yields, risk) and events our code uses on it,
    and the ERC-20 balances read of its tokens."""
    uses = [
        ContractUse(f"Comet {symbol}", COMET_INTERFACE, COMET_CALLS, (WITHDRAW_EVENT,), address)
        for symbol, address in sorted(comets(deployment).items())
    ]
    uses.append(ContractUse("Comet base and collateral tokens", "common/ERC20", (BALANCE_OF,)))
    return tuple(uses)


class CompoundV3Adapter(Adapter):
    info = INFO

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.comets = comets(deployment)
        self.assets: dict[str, CometAssets] = {}

    def surface(self) -> tuple[ContractUse, ...]:
        return comet_surface(self.deployment)

    async def discover(self, reader: Reader) -> dict[str, CometAssets]:
        """Each Comet's base and collateral list, read once per Comet not seen before."""
        unknown = [c for c in self.comets.values() if c not in self.assets]
        if unknown:
            counts = self.require(await reader.call_many([Call.of(c, NUM_ASSETS) for c in unknown]))
            await self._learn(reader, dict(zip(unknown, counts, strict=True)))
        return {c: self.assets[c] for c in self.comets.values()}

    async def _learn(self, reader: Reader, counts: Mapping[str, int]) -> None:
        """Read the base and every asset of Comets whose collateral count is ``counts`` (new or grown)."""
        comets = list(counts)
        calls = [Call.of(c, BASE_TOKEN) for c in comets]
        calls += [Call.of(c, ASSET_INFO, i) for c in comets for i in range(counts[c])]
        values = iter(self.require(await reader.call_many(calls)))
        bases = [next(values) for _ in comets]
        for comet, base in zip(comets, bases, strict=True):
            self.assets[comet] = CometAssets(base, tuple(next(values)[1] for _ in range(counts[comet])))

    @staticmethod
    def _holdings_calls(comet: str, assets: CometAssets) -> list[Call]:
        return [Call.of(comet, TOTAL_BORROW)] + [
            Call.of(token, BALANCE_OF, comet) for token in (assets.base, *assets.collateral)
        ]

    async def positions(self, reader: Reader) -> list[Position | Uncounted]:
        """One batch when no Comet listed a new collateral since the last read; governance adds them often on
        mainnet, so each read checks `numAssets` and learns the new ones (one more round, only then)."""
        comets = list(self.comets.values())
        known = {c: self.assets[c] for c in comets if c in self.assets}
        calls = [Call.of(c, NUM_ASSETS) for c in comets]
        for comet, assets in known.items():
            calls += self._holdings_calls(comet, assets)
        results = await reader.call_many(calls)
        counts = dict(zip(comets, self.require(results[: len(comets)]), strict=True))
        rest = iter(results[len(comets) :])
        holdings = {c: [next(rest) for _ in range(2 + len(a.collateral))] for c, a in known.items()}
        stale = {c: n for c, n in counts.items() if c not in known or len(known[c].collateral) != n}
        if stale:
            await self._learn(reader, stale)
            extra = [self._holdings_calls(c, self.assets[c]) for c in stale]
            more = iter(await reader.call_many([call for calls in extra for call in calls]))
            holdings.update({c: [next(more) for _ in calls] for c, calls in zip(stale, extra, strict=True)})
        # One balance that cannot be read (a collateral token without code, a reverting balanceOf) is listed as
        # not counted; the Comet's other holdings stand.
        positions: list[Position | Uncounted] = []
        for comet in comets:
            a = self.assets[comet]
            label = f"Comet {comet}"
            borrowed, *held = holdings[comet]
            entries = [(a.base, borrowed, BalanceKind.BORROWED)]
            entries += [(token, r, BalanceKind.TVL) for token, r in zip((a.base, *a.collateral), held, strict=True)]
            for token, result, kind in entries:
                if result.success:
                    positions.append(Position(token, result.one(), kind, comet, label))
                else:
                    reason = f"{result.call.describe()} failed: {result.error}"
                    positions.append(Uncounted(comet, token, reason, label, kind))
        return positions

    async def yields(self, reader: Reader) -> list[Yield]:
        """Per Comet: getSupplyRate / getBorrowRate at getUtilization (per second) x seconds a year.

        The curve's immutables and the utilisation are read in one batch and evaluated with the exact port
        (`CometRates`), which equals ``getSupplyRate(getUtilization())`` without a second round trip.
        """
        markets = await self.discover(reader)
        reads = (*RATE_READS, *SPREAD_READS)
        results = await reader.call_many([Call.of(c, sig) for c in markets for sig in reads])
        rows: list[Yield] = []
        for k, (comet, a) in enumerate(markets.items()):
            own = results[k * len(reads) : (k + 1) * len(reads)]
            *params, utilization = self.require(own[: len(RATE_READS)])
            curve = CometRates(*params)
            token = self.deployment.token_at(a.base)
            symbol = token.symbol if token is not None else a.base
            supply_rate, borrow_rate = curve.supply_rate(utilization), curve.borrow_rate(utilization)
            for kind, rate, share in (
                (YieldKind.SUPPLY, supply_rate, None),
                (YieldKind.BORROW, borrow_rate, _spread(supply_rate, borrow_rate, own[len(RATE_READS) :])),
            ):
                apr = per_second_to_apr(rate)
                method = f"get{kind.value.title()}Rate(getUtilization()) x {SECONDS_PER_YEAR} s / 1e18; APY per second"
                rows.append(
                    Yield(
                        self.info.slug,
                        comet,
                        a.base,
                        symbol,
                        kind,
                        exact_decimal(apr),
                        apr_to_apy(apr, SECONDS_PER_YEAR),
                        method,
                        share,
                    )
                )
        return rows


def _spread(supply_rate: int, borrow_rate: int, totals: Sequence[CallResult]) -> FeeShare:
    """Comet has no reserve factor: it keeps borrow interest minus supply interest, per second
    borrowRate x totalBorrow - supplyRate x totalSupply (both accrued to the block); its share of the borrow
    interest is 1 - supply interest / borrow interest."""
    failed = next((r for r in totals if not r.success), None)
    if failed is not None:
        return FeeShare.missing(f"{failed.call.describe()} failed: {failed.error}")
    supplied, borrowed = (r.one() for r in totals)
    how = "1 - getSupplyRate x totalSupply / (getBorrowRate x totalBorrow), at getUtilization()"
    return FeeShare.spread(borrow_rate * borrowed, supply_rate * supplied, how)
