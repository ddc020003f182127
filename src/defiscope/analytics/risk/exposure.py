"""What a protocol's figures depend on, from its stored snapshot: its oracles and feeds, and its economic shape.

    oracles = oracle_dependence(snapshot)
    oracles.feeds, oracles.single_source_share    # (("chainlink:ETH/USD", Decimal("3000")), ...), Fraction(3, 5)
    economy = economic_exposure(snapshot)
    economy.largest, economy.utilisation          # ("WETH", Fraction(3, 5)), Fraction(2, 5)

Pure: a `ProtocolSnapshot` (as the TVL engine made it and the store keeps it, with the adapter's calls) comes in.
The feeds are the price sources that valued the snapshot's tokens (our own aggregator's choice); the adapter's
oracles are the contracts it read a price from itself (its provenance calls to a price function), which is what
a lending protocol's liquidations hang on. Values and shares are exact (`Decimal` USD, `Fraction` shares).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from defiscope.tvl.model import BalanceKind, ProtocolSnapshot

if TYPE_CHECKING:  # a data type only: this module reads nothing
    from collections.abc import Sequence

    from defiscope.protocols.bad_debt import BadDebt

#: Functions that answer a price: an adapter calling one depends on that oracle (Chainlink aggregators, Aave's
#: oracle, Compound's price oracle and Comet's getPrice).
ORACLE_FUNCTIONS: Final = frozenset(
    {"latestRoundData", "latestAnswer", "getAssetPrice", "getAssetsPrices", "getUnderlyingPrice", "getPrice"}
)
#: Price-source name prefixes by kind; any other source is a DEX pool (`prices.dex` labels `venue:pool:method`).
SOURCE_KINDS: Final = {"chainlink": "chainlink", "derived": "derived", "coingecko": "offchain-api"}


def source_kind(source: str) -> str:
    """ "chainlink:ETH/USD" -> "chainlink"; "uniswap-v3:0xPool:twap" -> "dex"."""
    prefix = source.split(":", 1)[0]
    return next((kind for name, kind in SOURCE_KINDS.items() if prefix.startswith(name)), "dex")


@dataclass(frozen=True, slots=True)
class OracleDependence:
    """Feeds by USD valued through each (largest first), tokens left unpriced, oracles the adapter read itself."""

    block: int
    feeds: tuple[tuple[str, Decimal], ...]
    unpriced: int
    adapter_oracles: tuple[str, ...]  # "0xOracle getAssetPrice(address)(uint256)", in call order

    @property
    def valued_usd(self) -> Decimal:
        return sum((usd for _, usd in self.feeds), Decimal(0))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(source_kind(source) for source, _ in self.feeds))

    def share_of(self, kind: str) -> Fraction | None:
        """Share of the valued USD priced by sources of ``kind``; None when nothing was valued."""
        total = self.valued_usd
        if not total:
            return None
        return Fraction(sum((usd for s, usd in self.feeds if source_kind(s) == kind), Decimal(0))) / Fraction(total)

    @property
    def single_source_share(self) -> Fraction | None:
        """Share of the valued USD that the largest single feed prices; None when nothing was valued."""
        total = self.valued_usd
        return Fraction(self.feeds[0][1]) / Fraction(total) if total else None


def oracle_dependence(snapshot: ProtocolSnapshot) -> OracleDependence:
    by_feed: dict[str, Decimal] = defaultdict(Decimal)
    for token in snapshot.tokens:
        if token.price is not None and token.value_usd is not None:
            by_feed[token.price.source] += token.value_usd
    feeds = tuple(sorted(by_feed.items(), key=lambda item: (-item[1], item[0])))
    oracles = dict.fromkeys(
        f"{call.target} {call.function}"
        for call in snapshot.calls
        if call.function.split("(", 1)[0] in ORACLE_FUNCTIONS
    )
    unpriced = sum(1 for t in snapshot.tokens if t.value_usd is None)
    return OracleDependence(snapshot.block.number, feeds, unpriced, tuple(oracles))


@dataclass(frozen=True, slots=True)
class BadDebtFigure:
    """The bad debt read at the block, valued: USD of what was read and priced; the markets whose amount is not
    known (``unread``, with why) or not priced (``unpriced``: its token has no price in the snapshot)."""

    usd: Decimal
    read: int  # markets and tokens whose amount was read
    unpriced: tuple[str, ...]
    unread: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EconomicExposure:
    """TVL (kind `tvl`, valued) and its largest asset; borrowed USD; bad debt where a protocol exposes it (None:
    none of its contracts does, it is not read)."""

    block: int
    tvl_usd: Decimal
    borrowed_usd: Decimal
    largest: tuple[str, Fraction] | None  # symbol and its share of tvl_usd; None when nothing is valued
    unpriced: int
    bad_debt: BadDebtFigure | None = None

    @property
    def utilisation(self) -> Fraction | None:
        """Borrowed over supplied (TVL counts what is supplied and not borrowed); None when nothing is borrowed."""
        if not self.borrowed_usd:
            return None
        return Fraction(self.borrowed_usd) / Fraction(self.tvl_usd + self.borrowed_usd)

    @property
    def bad_debt_share(self) -> Fraction | None:
        """Valued bad debt over what is supplied (TVL + borrowed); None when not read or nothing is supplied."""
        supplied = self.tvl_usd + self.borrowed_usd
        if self.bad_debt is None or not self.bad_debt.read or not supplied:
            return None
        return Fraction(self.bad_debt.usd) / Fraction(supplied)


#: Why bad debt is not scored for a protocol none of whose contracts exposes it (`protocols.bad_debt` lists those).
BAD_DEBT_UNKNOWN: Final = "bad debt: not read (no contract of it exposes it), not scored"


def bad_debt_figure(debts: Sequence[BadDebt], snapshot: ProtocolSnapshot) -> BadDebtFigure:
    """Each market's bad debt valued at the snapshot's price of its token (raw units / 10**decimals x USD)."""
    prices = {t.token.lower(): t for t in snapshot.tokens if t.price is not None}
    usd, unpriced, unread, read = Decimal(0), [], [], 0
    for debt in debts:
        if debt.amount is None or debt.token is None:
            unread.append(f"{debt.market}: {debt.why}")
            continue
        read += 1
        if not debt.amount:
            continue
        valued = prices.get(debt.token.lower())
        if valued is None or valued.price is None:
            unpriced.append(f"{debt.market} {debt.amount} of {debt.token}")
            continue
        usd += Decimal(debt.amount) * valued.price.usd / Decimal(10) ** valued.decimals
    return BadDebtFigure(usd, read, tuple(unpriced), tuple(unread))


def economic_exposure(snapshot: ProtocolSnapshot, debts: Sequence[BadDebt] | None = None) -> EconomicExposure:
    """``debts``: the bad debt read at the snapshot's block (None: the protocol exposes none)."""
    by_symbol: dict[str, Decimal] = defaultdict(Decimal)
    for token in snapshot.tokens:
        if token.kind is BalanceKind.TVL and token.value_usd is not None:
            by_symbol[token.symbol] += token.value_usd
    tvl = snapshot.total(BalanceKind.TVL)
    largest = None
    if tvl:
        symbol, usd = max(by_symbol.items(), key=lambda item: (item[1], item[0]))
        largest = (symbol, Fraction(usd) / Fraction(tvl))
    unpriced = sum(1 for t in snapshot.unpriced if t.kind is BalanceKind.TVL)
    figure = None if debts is None else bad_debt_figure(debts, snapshot)
    borrowed = snapshot.total(BalanceKind.BORROWED)
    return EconomicExposure(snapshot.block.number, tvl, borrowed, largest, unpriced, figure)
