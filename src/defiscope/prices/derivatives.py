"""Receipt, wrapped and LP tokens valued through what they are claims on.

The variants are data: a `RateRule` (wstETH -> stETH via `stEthPerToken()`, a Compound cToken via
`exchangeRateStored()`), a `OneToOneRule` (an Aave aToken is redeemable 1:1), and Uniswap V2 LP tokens,
detected automatically (`factory()` is a known V2 factory and `getReserves()` answers) and decomposed into
their reserves. `observe` reads the rates and pair state in one batch (a token found not to be a pair is
remembered as such: a pair's factory never changes); `quote` is pure and takes the underlying tokens' prices,
which the aggregator decides first.

    rules = (RateRule(wsteth, steth, "stEthPerToken()(uint256)", scale=10**18, label="wstETH->stETH"),)
    source = DerivativeSource(deployment, rules)
    book = await source.observe(reader, tokens)
    source.underlyings(book)                       # addresses whose prices `quote` needs
    answers = source.quote(book, refs, decided)    # "derived:wstETH->stETH"

A Uniswap V2 LP token is worth its share of both reserves:

    >>> lp_usd(reserves=(2 * 10**18, 6000 * 10**6), decimals=(18, 6), prices=(Decimal(3000), Decimal(1)),
    ...        total_supply=10**18, lp_decimals=18)
    Decimal('12000')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.prices.base import PriceAnswer, PriceMiss, TokenRef
from defiscope.prices.dex import to_decimal
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.surface import ContractUse

NAME: Final = "derived"
V2_FACTORIES: Final = ("UniswapV2Factory", "PancakeV2Factory")
FACTORY: Final = "factory()(address)"
TOKEN0: Final = "token0()(address)"
TOKEN1: Final = "token1()(address)"
GET_RESERVES: Final = "getReserves()(uint112,uint112,uint32)"
TOTAL_SUPPLY: Final = "totalSupply()(uint256)"
UNDERLYING_ASSET: Final = "UNDERLYING_ASSET_ADDRESS()(address)"
A_TOKEN_INTERFACE: Final = "aave/IAToken"
LP_READS: Final = (FACTORY, TOKEN0, TOKEN1, GET_RESERVES, TOTAL_SUPPLY)
#: Blocks a token found not to be a V2 pair stays known as such (a day of Ethereum blocks, as DEX discovery).
RECHECK_BLOCKS: Final = 7200


@dataclass(frozen=True, slots=True)
class RateRule:
    """`token` is worth `rate / scale` whole `underlying` per whole token, `rate` read with `rate_call`.

    wstETH: `stEthPerToken()`, scale 10**18. Compound cToken (8 decimals): `exchangeRateStored()`,
    scale 10**(18 - 8 + underlying decimals).
    """

    token: str
    underlying: str
    rate_call: str
    scale: int
    label: str | None = None
    interface: str = "common/ERC20"  # the real ABI `token` answers (``tests/fixtures/abi``)


@dataclass(frozen=True, slots=True)
class OneToOneRule:
    """`token` redeems 1:1 for `underlying` (Aave aTokens); `check_call`, if set, must return `underlying`."""

    token: str
    underlying: str
    check_call: str | None = UNDERLYING_ASSET
    label: str | None = None
    interface: str = A_TOKEN_INTERFACE


DerivativeRule = RateRule | OneToOneRule


@dataclass(frozen=True, slots=True)
class Claim:
    """What one whole token is a claim on: `underlyings` with whole amounts per whole token, or an LP share."""

    token: str
    underlyings: tuple[str, ...]
    label: str
    #: whole underlying per whole token, for rules (one entry)
    rate: Fraction | None = None
    #: for LP tokens: raw reserves and raw total supply
    reserves: tuple[int, int] | None = None
    total_supply: int = 0


DerivedBook = Mapping[str, Claim | PriceMiss]


# ------------------------------------------------------------------------------------------ pure math


def rate_usd(rate: Fraction, underlying_usd: Decimal) -> Decimal:
    """USD per whole token from whole-underlying-per-token and the underlying's price."""
    return to_decimal(rate * Fraction(underlying_usd))


def lp_usd(
    *,
    reserves: tuple[int, int],
    decimals: tuple[int, int],
    prices: tuple[Decimal, Decimal],
    total_supply: int,
    lp_decimals: int,
) -> Decimal:
    """USD per whole LP token: (r0 * p0 + r1 * p1) / totalSupply, amounts in whole units.

    This is the book value of the reserves; it follows the pool's spot reserves, so a flash-loan-skewed
    pool inflates it within one block (lending protocols use the "fair reserves" form instead).
    """
    value = sum(
        (Fraction(r, 10**d) * Fraction(p) for r, d, p in zip(reserves, decimals, prices, strict=True)), Fraction(0)
    )
    return to_decimal(value / Fraction(total_supply, 10**lp_decimals))


# ------------------------------------------------------------------------------------------ the source


class DerivativeSource:
    """Values wrappers by rule and V2 LP tokens by decomposition (see the module docstring)."""

    name: str = NAME

    def __init__(
        self,
        deployment: Deployment,
        rules: Sequence[DerivativeRule] = (),
        *,
        v2_factories: Sequence[str] = (),
        recheck_blocks: int = RECHECK_BLOCKS,
    ) -> None:
        self.deployment = deployment
        self.rules = {r.token: r for r in rules}
        known = [deployment.contracts[f] for f in V2_FACTORIES if f in deployment.contracts]
        self.v2_factories = frozenset(a.lower() for a in (*known, *v2_factories))
        #: Candidates found not to be pairs of a known factory, with the block that showed it. A pair's factory is
        #: set once at creation, so the answer holds: it is asked again only `recheck_blocks` later (or when the
        #: chain went back), not five reverting reads per unknown token per block.
        self._not_pairs: dict[str, int] = {}
        self.recheck_blocks = recheck_blocks

    def surface(self) -> tuple[ContractUse, ...]:
        uses = [
            ContractUse(rule.label or f"wrapper {rule.token}", rule.interface, (call,), address=rule.token)
            for rule in self.rules.values()
            if (call := rule.rate_call if isinstance(rule, RateRule) else rule.check_call) is not None
        ]
        # Any token outside the registry may be a V2 LP token: the reads may fail, and then it is not one.
        uses.append(ContractUse("V2 LP token candidate (any unknown token)", "uniswap/UniswapV2Pair", LP_READS))
        return tuple(uses)

    def static_underlyings(self) -> tuple[str, ...]:
        """Underlyings known before any read (from the rules), so they are priced in the same round."""
        return tuple(dict.fromkeys(r.underlying for r in self.rules.values()))

    def lp_candidates(self, tokens: Sequence[TokenRef]) -> list[str]:
        """Tokens that might be LP tokens: not registry tokens (those are plain ERC-20s) and not ruled."""
        return [
            t.address for t in tokens if t.address not in self.rules and self.deployment.token_at(t.address) is None
        ]

    async def observe(self, reader: Reader, tokens: Sequence[TokenRef]) -> dict[str, Claim | PriceMiss]:
        """One batch: each ruled token's rate (or check), and each LP candidate's pair state (a candidate already
        found not to be a pair is not read again until `recheck_blocks` later)."""
        ruled = [self.rules[t.address] for t in tokens if t.address in self.rules]
        symbols = {t.address: t.symbol for t in tokens}
        number = reader.block.number
        lps: list[str] = []
        not_pairs: list[str] = []
        for lp in self.lp_candidates(tokens):
            seen = self._not_pairs.get(lp)
            fresh = seen is not None and seen <= number <= seen + self.recheck_blocks
            (not_pairs if fresh else lps).append(lp)
        rule_calls = [_rule_call(r) for r in ruled]
        lp_calls = [Call.of(lp, sig) for lp in lps for sig in LP_READS]
        results = await reader.call_many([c for c in rule_calls if c is not None] + lp_calls)
        book: dict[str, Claim | PriceMiss] = {}
        position = 0
        for rule, call in zip(ruled, rule_calls, strict=True):
            result = None
            if call is not None:
                result, position = results[position], position + 1
            book[rule.token] = self._rule_claim(rule, result, symbols)
        for i, lp in enumerate(lps):
            book[lp] = self._lp_claim(lp, symbols[lp], results[position + 5 * i : position + 5 * i + 5])
            if book[lp] == self._not_a_pair(symbols[lp]):
                self._not_pairs[lp] = number
            else:
                self._not_pairs.pop(lp, None)
        for lp in not_pairs:
            book[lp] = self._not_a_pair(symbols[lp])
        for t in tokens:
            book.setdefault(t.address, PriceMiss(NAME, f"{t.symbol} is a registry token, not a wrapper or LP token"))
        return book

    @staticmethod
    def underlyings(book: DerivedBook) -> set[str]:
        return {u for claim in book.values() if isinstance(claim, Claim) for u in claim.underlyings}

    def quote(
        self, book: DerivedBook, refs: Mapping[str, TokenRef], decided: Mapping[str, PriceQuote], chain_id: int
    ) -> dict[str, PriceAnswer]:
        """Price each claim from its underlyings' decided quotes; a missing underlying price is a miss."""
        return {token: _quote_claim(claim, refs, decided, chain_id) for token, claim in book.items()}

    def _symbol(self, address: str, known: Mapping[str, str] | None = None) -> str:
        info = self.deployment.token_at(address)
        return info.symbol if info else (known or {}).get(address, address)

    def _rule_claim(
        self, rule: DerivativeRule, result: CallResult | None, symbols: Mapping[str, str]
    ) -> Claim | PriceMiss:
        label = rule.label or f"{self._symbol(rule.token, symbols)}->{self._symbol(rule.underlying, symbols)}"
        if result is not None and not result.success:
            return PriceMiss(NAME, f"{label}: {result.call.function.name} failed: {result.error}")
        if isinstance(rule, RateRule):
            assert result is not None  # a RateRule always has its call
            return Claim(rule.token, (rule.underlying,), label, rate=Fraction(int(result.one()), rule.scale))
        if result is not None and result.one().lower() != rule.underlying.lower():
            return PriceMiss(NAME, f"{label}: {result.call.function.name} returned {result.one()}")
        return Claim(rule.token, (rule.underlying,), label, rate=Fraction(1))

    def _lp_claim(self, lp: str, symbol: str, results: Sequence[CallResult]) -> Claim | PriceMiss:
        factory, token0, token1, reserves, supply = results
        if not (factory.success and factory.one().lower() in self.v2_factories):
            return self._not_a_pair(symbol)
        if not all(r.success for r in results):
            failed = next(r for r in results if not r.success)
            return PriceMiss(NAME, f"V2 pair {lp}: {failed.call.function.name} failed: {failed.error}")
        if supply.one() == 0:
            return PriceMiss(NAME, f"V2 pair {lp} has no supply")
        r0, r1, _ = reserves.value
        label = f"{symbol}->{self._symbol(token0.one())}+{self._symbol(token1.one())}"
        return Claim(lp, (token0.one(), token1.one()), label, reserves=(r0, r1), total_supply=supply.one())

    @staticmethod
    def _not_a_pair(symbol: str) -> PriceMiss:
        return PriceMiss(NAME, f"{symbol} is neither a known wrapper nor a pair of a known V2 factory")


def _rule_call(rule: DerivativeRule) -> Call | None:
    if isinstance(rule, RateRule):
        return Call.of(rule.token, rule.rate_call)
    return Call.of(rule.token, rule.check_call) if rule.check_call else None


def _quote_claim(
    claim: Claim | PriceMiss, refs: Mapping[str, TokenRef], decided: Mapping[str, PriceQuote], chain_id: int
) -> PriceAnswer:
    if isinstance(claim, PriceMiss):
        return claim
    missing = [u for u in claim.underlyings if u not in decided]
    if missing:
        names = ", ".join(refs[u].symbol if u in refs else u for u in missing)
        return PriceMiss(NAME, f"{claim.label}: no price for the underlying {names}")
    parts = [decided[u] for u in claim.underlyings]
    if claim.rate is not None:
        usd = rate_usd(claim.rate, parts[0].usd)
    else:
        assert claim.reserves is not None  # an LP claim
        usd = lp_usd(
            reserves=claim.reserves,
            decimals=(refs[claim.underlyings[0]].decimals, refs[claim.underlyings[1]].decimals),
            prices=(parts[0].usd, parts[1].usd),
            total_supply=claim.total_supply,
            lp_decimals=refs[claim.token].decimals,
        )
    return PriceQuote(
        chain_id=chain_id,
        token=claim.token,
        usd=usd,
        source=f"{NAME}:{claim.label}",
        timestamp=min(p.timestamp for p in parts),
        confidence=min(p.confidence for p in parts),
        block_number=parts[0].block_number,
    )
