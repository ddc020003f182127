"""A small hand-built market in a real store: one block of chain 1 a day, snapshots, yields and prices.

world = World(repo)
day = world.day(0, snapshots={"aave-v3": Holdings(tvl="1000", borrowed="400")}, prices={"UNI": "8"},
                rates={"aave-v3": [(YieldKind.BORROW, "0.05")]})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from defiscope.analytics.grades.figures import DAY
from defiscope.analytics.grades.market import TokenRef
from defiscope.chain.block import BlockRef
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import Yield, YieldKind
from defiscope.store import Repository
from defiscope.store.risk import RiskStore, ScoredBlock
from defiscope.tvl.model import BalanceKind, PriceQuote, ProtocolSnapshot, TokenValue

START = 1_750_000_000
FIRST_BLOCK = 1_000
DAI = "0x6B175474E89094C44Da98b954EedeAC495271d0F"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
MARKET = "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2"
#: Graded tokens of the hand-built world (addresses of the mainnet tokens; CRV has no quote anywhere).
TOKENS = {
    "UNI": TokenRef("UNI", 1, "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984", 18),
    "AAVE": TokenRef("AAVE", 1, "0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9", 18),
    "CRV": TokenRef("CRV", 1, "0xD533a949740bb3306d119CC777fa900bA034cd52", 18),
    "CAKE": TokenRef("CAKE", 56, "0x0E09FaBB73Bd3Ade0a17ECC321fD13a19e81cE82", 18),
}
#: Documented shares for rates no knob splits: none here, every fee-paying rate carries its knob (`KNOBS`).
SHARES: dict[str, Fraction] = {}
#: The knobs read with the rates: Aave's reserve factor (1000 bps), Uniswap V2's feeTo (off).
KNOBS = {
    "aave-v3": FeeShare.read("aave-v3", 1000, "getReserveData(DAI).configuration bits 64-79 (reserve factor)"),
    "uniswap-v2": FeeShare.read("uniswap-v2", 0, "UniswapV2Factory.feeTo()"),
}
CLOCK_DAY = 35


@dataclass(frozen=True)
class Holdings:
    """A snapshot's priced totals: one DAI row of each kind given (an unpriced token row when `value` is None)."""

    tvl: str
    borrowed: str = "0"
    extra: tuple[tuple[str, str, str | None], ...] = ()  # (token, kind, USD or None)


def block_of(day: int, chain_id: int = 1, *, fork: str = "a") -> BlockRef:
    """Block FIRST_BLOCK + day; another chain's comes 10 minutes before chain 1's of the same day."""
    number = FIRST_BLOCK + day
    digest = f"{chain_id:08x}{number:016x}{fork.encode().hex():0>8}"
    return BlockRef(chain_id, number, "0x" + digest.rjust(64, "0"), START + day * DAY - (0 if chain_id == 1 else 600))


def _token(token: str, kind: BalanceKind, usd: str | None) -> TokenValue:
    value = None if usd is None else Decimal(usd)
    return TokenValue(token, "T", 18, kind, 10**18, None, value, None if usd is not None else "no price")


@dataclass
class World:
    repo: Repository
    blocks: dict[tuple[int, int], BlockRef] = field(default_factory=dict)

    def day(
        self,
        day: int,
        *,
        snapshots: dict[str, Holdings] | None = None,
        prices: dict[str, str] | None = None,
        rates: dict[str, list[tuple[YieldKind, str]]] | None = None,
        knobs: Mapping[str, FeeShare] = KNOBS,
        chain_id: int = 1,
        fork: str = "a",
    ) -> BlockRef:
        block = block_of(day, chain_id, fork=fork)
        self.blocks[(chain_id, day)] = block
        saved = []
        for slug, holdings in (snapshots or {}).items():
            tokens = [_token(DAI, BalanceKind.TVL, holdings.tvl)]
            if holdings.borrowed != "0":
                tokens.append(_token(DAI, BalanceKind.BORROWED, holdings.borrowed))
            tokens += [_token(t, BalanceKind(kind), usd) for t, kind, usd in holdings.extra]
            saved.append(ProtocolSnapshot(slug, chain_id, block, tuple(tokens)))
        self.repo.save_snapshots(saved)
        quotes = [
            PriceQuote(TOKENS[s].chain_id, TOKENS[s].address, Decimal(usd), "dex", block.timestamp, 0.9, block.number)
            for s, usd in (prices or {}).items()
        ]
        self.repo.save_prices(quotes)
        for slug, kinds in (rates or {}).items():
            rows = [
                Yield(slug, MARKET, DAI, "DAI", kind, Decimal(apr), Decimal(apr), "test", _knob(knobs, slug, kind))
                for kind, apr in kinds
            ]
            self.repo.save_yields(block, rows)
        return block


def score_risk(repo: Repository, block: BlockRef, slug: str, composite: int | None) -> None:
    """A stored risk score of an adapter at a stored block (only the composite matters to grades)."""
    scored = ScoredBlock(slug, block.chain_id, block.number, "risk-2", composite, {"composite": composite}, {})
    RiskStore(repo.engine).save(scored, [])


def _knob(knobs: Mapping[str, FeeShare], slug: str, kind: YieldKind) -> FeeShare | None:
    """The slug's knob on the rates that pay fees (a supply rate is what suppliers earn: no knob splits it)."""
    return None if kind is YieldKind.SUPPLY else knobs.get(slug)


def uni_price(day: int) -> Decimal:
    return Decimal(8) + Decimal(day) / 10 + (Decimal("0.3") if day % 3 == 0 else 0)  # a wobble: a drawdown


def build(repo: Repository, last_day: int = CLOCK_DAY) -> World:
    world = World(repo)
    for day in range(last_day + 1):
        world.day(
            day,
            snapshots={
                "aave-v3": Holdings(tvl=str(1000 + 10 * day), borrowed="400"),
                "compound-v3": Holdings(tvl="1000"),
                "uniswap-v2": Holdings(tvl="500", extra=((TOKENS["UNI"].address, "tvl", "80"),)),
            },
            prices={"UNI": str(uni_price(day)), "AAVE": "100"},
            rates={
                "aave-v3": [(YieldKind.BORROW, "0.05"), (YieldKind.SUPPLY, "0.02")],
                "uniswap-v2": [(YieldKind.LP_FEE, "0.1")],
            },
        )
    return world


def trending_world(repo: Repository, days: int, turn: int, *, first: int = 0, fork: str = "a") -> World:
    """Aave, Uniswap and Curve with prices and TVL whose trends keep their ranks until day `turn`, then reverse:
    three ranked protocols give grades near 0, 50 and 100, so the states change when the ranks do. Their risk
    scores rank as their trends do. Days `first` to `days`, on `fork` (another fork's blocks of the same days:
    a reorg, once the store rolled the first fork's back)."""
    world = World(repo)
    slopes = {"AAVE": 2, "UNI": 0, "CRV": -2}  # percent a day
    members = {"AAVE": "aave-v3", "UNI": "uniswap-v2", "CRV": "curve"}
    for day in range(first, days + 1):
        sign = 1 if day <= turn else -1
        moved = {s: 100 + slope * min(day, turn) + sign * slope * max(0, day - turn) for s, slope in slopes.items()}
        world.day(
            day,
            snapshots={members[s]: Holdings(tvl=str(10 * level)) for s, level in moved.items()},
            prices={s: str(level) for s, level in moved.items()},
            fork=fork,
        )
        for s, level in moved.items():
            score_risk(repo, world.blocks[(1, day)], members[s], min(100, max(0, level // 2)))
    return world
