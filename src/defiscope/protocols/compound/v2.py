"""Compound V2 adapter: per market, TVL = cash (`getCash`) and borrowed = `totalBorrows` (DefiLlama's split).

Supplied = cash + borrows - reserves; DefiLlama counts what is still in the pool (cash) as TVL and the
lent-out part as borrowed, so the two add up to what suppliers and reserves own. Markets are discovered
from the Comptroller (`getAllMarkets`) and their underlyings cached; each snapshot is one batch.

    adapter = CompoundV2Adapter(deployment)
    positions = await adapter.positions(reader)     # tvl and borrowed per cToken
    adapter.receipt_tokens()                         # the cTokens
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo, Uncounted
from defiscope.protocols.compound.rates import ETHEREUM_BLOCKS_PER_YEAR
from defiscope.protocols.events import EventStream
from defiscope.protocols.governors import governance_surface, streams_of
from defiscope.protocols.lending.rates import apr_to_apy, per_block_to_apr
from defiscope.protocols.revenue import knob_share
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal

COMPTROLLER: Final = "CompoundV2Comptroller"
GET_ALL_MARKETS: Final = "getAllMarkets()(address[])"
UNDERLYING: Final = "underlying()(address)"
MARKET_READS: Final = ("getCash()(uint256)", "totalBorrows()(uint256)")
RATE_READS: Final = ("supplyRatePerBlock()(uint256)", "borrowRatePerBlock()(uint256)")
#: The reserves' share of the borrow interest (`accrueInterest`), read with the rates it splits.
RESERVE_FACTOR: Final = "reserveFactorMantissa()(uint256)"
# The risk path (`compound.positions`): the Comptroller's oracle, memberships and collateral factors, each
# cToken's account snapshot, the oracle's prices; accounts come from MarketEntered events.
ORACLE: Final = "oracle()(address)"
GET_ASSETS_IN: Final = "getAssetsIn(address)(address[])"
MARKETS: Final = "markets(address)(bool,uint256,bool)"
ACCOUNT_SNAPSHOT: Final = "getAccountSnapshot(address)(uint256,uint256,uint256,uint256)"
UNDERLYING_PRICE: Final = "getUnderlyingPrice(address)(uint256)"
MARKET_ENTERED_EVENT: Final = "MarketEntered(address,address)"

INFO: Final = ProtocolInfo(
    slug="compound-v2",
    name="Compound V2",
    category="Lending",
    methodology=(
        "Per cToken market: TVL is the underlying cash held (getCash); borrowed is totalBorrows. Markets come "
        "from the Comptroller's getAllMarkets. cTokens are receipts of this protocol. APRs are "
        f"supplyRatePerBlock/borrowRatePerBlock x {ETHEREUM_BLOCKS_PER_YEAR:,} blocks a year (12-second blocks "
        "since the merge; the rate models still assume 2,102,400)."
    ),
    url="https://compound.finance",
    counts=(
        "Per cToken: getCash() (underlying held, native ETH for cETH) as TVL and totalBorrows() as borrowed, "
        "both as stored at the block read (interest accrued up to the market's last accrual block). Supplied "
        "= cash + borrows - reserves, so TVL plus borrowed is what suppliers and reserves own. A market whose "
        "getCash or totalBorrows fails (getCash asks the underlying's balanceOf) is listed as not counted, with "
        "the reason; the other markets stand."
    ),
    discovery=(
        "Markets are the Comptroller's getAllMarkets() at the block read (every market ever listed, "
        "deprecated ones included); each cToken's underlying() is read once and cached (cETH has none: it "
        "holds native ETH, valued as WETH). Accounts for the risk report come from MarketEntered events."
    ),
    defillama_difference=(
        "Same split as DefiLlama's Compound V2 figure: each market's underlying cash as TVL, totalBorrows as "
        "borrowed (an older DefiLlama adapter listed the markets from the compound-v2 subgraph and summed their "
        "cash). We list markets on chain (getAllMarkets at the block read), so every listed market counts, "
        "deprecated ones included, where a list kept off chain may leave some out. Our APRs use 2,628,000 "
        "blocks a year (12 s), not the 2,102,400 (15 s) the JumpRateModelV2 contracts assume for their "
        "per-block parameters: the per-block rate is what the chain charges, and Ethereum now makes a block "
        "every 12 seconds."
    ),
)


#: The kind of the markets found at run time (the Comptroller's getAllMarkets()).
CTOKEN_KIND: Final = "cToken"


def v2_surface(comptroller: str) -> tuple[ContractUse, ...]:
    """What our Compound V2 code reads: the Comptroller (fixed), its cTokens (found at run time) and its price
    oracle (named by the Comptroller's oracle(): a contract of the protocol, `control.discovered.NAMED_BY`)."""
    return (
        ContractUse(
            "Comptroller",
            "compound/Comptroller",
            (GET_ALL_MARKETS, ORACLE, GET_ASSETS_IN, MARKETS),
            (MARKET_ENTERED_EVENT,),
            comptroller,
        ),
        # cETH (a CEther, on mainnet and on the devnet) answers the same reads but has no underlying(): that
        # call fails and means native ETH.
        ContractUse(
            CTOKEN_KIND, "compound/CErc20", (UNDERLYING, *MARKET_READS, *RATE_READS, RESERVE_FACTOR, ACCOUNT_SNAPSHOT)
        ),
        ContractUse("Comptroller oracle", "compound/PriceOracle", (UNDERLYING_PRICE,)),
    )


@dataclass(frozen=True, slots=True)
class Market:
    ctoken: str
    underlying: str


class CompoundV2Adapter(Adapter):
    info = INFO

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.comptroller = deployment.contract(COMPTROLLER)
        self.markets: dict[str, Market] = {}
        self.listed_to: int | None = None  # the newest block whose getAllMarkets() was read

    def surface(self) -> tuple[ContractUse, ...]:
        return (*v2_surface(self.comptroller), *governance_surface(self.deployment, self.info.slug))

    def event_streams(self) -> Sequence[EventStream]:
        # Compound's governor (its Timelock administers the Comptroller and the cTokens) is kept here.
        return streams_of(self.deployment, self.info.slug)

    def receipt_tokens(self) -> list[str]:
        return list(self.markets)

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """Every market learnt so far once a read reached ``block``: getAllMarkets() only grows, so a market listed
        after ``block`` may be among them (the control surface leaves out an address without code there)."""
        if self.listed_to is None or self.listed_to < block:
            return None
        return {CTOKEN_KIND: tuple(self.markets)}

    async def discover(self, reader: Reader) -> list[Market]:
        """The Comptroller's markets at the reader's block, with underlyings (cached once known)."""
        (ctokens,) = self.require(await reader.call_many([Call.of(self.comptroller, GET_ALL_MARKETS)]))
        return await self._learn(reader, ctokens)

    async def _learn(self, reader: Reader, ctokens: list[str]) -> list[Market]:
        self.listed_to = max(self.listed_to or 0, reader.block.number)
        new = [c for c in ctokens if c not in self.markets]
        results = await reader.call_many([Call.of(c, UNDERLYING) for c in new])
        for ctoken, result in zip(new, results, strict=True):
            self.markets[ctoken] = Market(ctoken, self._underlying(result.value[0] if result.success else None))
        return [self.markets[c] for c in ctokens]

    def _underlying(self, address: str | None) -> str:
        # cETH has no underlying(): it holds native ETH, priced as the deployment's WETH.
        return address if address is not None else self.deployment.token("WETH").address

    async def _per_market(self, reader: Reader, reads: Sequence[str]) -> list[tuple[Market, Sequence[CallResult]]]:
        """Each market of the Comptroller with the results of `reads` on its cToken (each may have failed).

        The market list and the known markets' reads go out in one batch; only a market not seen before
        costs more rounds. At an older block the list is shorter: only its markets count.
        """
        known = list(self.markets)
        n = len(reads)
        first = await reader.call_many(
            [Call.of(self.comptroller, GET_ALL_MARKETS), *(Call.of(c, sig) for c in known for sig in reads)]
        )
        (ctokens,) = self.require(first[:1])
        figures = {c: first[1 + n * i : 1 + n * (i + 1)] for i, c in enumerate(known)}
        markets = await self._learn(reader, ctokens)
        missing = [m.ctoken for m in markets if m.ctoken not in figures]
        if missing:
            extra = await reader.call_many([Call.of(c, sig) for c in missing for sig in reads])
            figures.update({c: extra[n * i : n * (i + 1)] for i, c in enumerate(missing)})
        return [(m, figures[m.ctoken]) for m in markets]

    async def positions(self, reader: Reader) -> list[Position | Uncounted]:
        """Per market: its cash (tvl) and borrows; a market whose reads fail (getCash asks the underlying's
        balanceOf, which reverts for a token without code) is listed as not counted and the others stand."""
        positions: list[Position | Uncounted] = []
        for m, results in await self._per_market(reader, MARKET_READS):
            label = f"cToken {m.ctoken}"
            failed = next((r for r in results if not r.success), None)
            if failed is not None:
                reason = f"{failed.call.describe()} failed: {failed.error}"
                kinds = (BalanceKind.TVL, BalanceKind.BORROWED)
                positions += [Uncounted(m.ctoken, m.underlying, reason, label, kind) for kind in kinds]
                continue
            cash, borrows = self.require(results)
            positions.append(Position(m.underlying, cash, BalanceKind.TVL, m.ctoken, label))
            positions.append(Position(m.underlying, borrows, BalanceKind.BORROWED, m.ctoken, label))
        return positions

    async def yields(self, reader: Reader) -> list[Yield]:
        """Per market: supplyRatePerBlock / borrowRatePerBlock x 2,628,000 blocks a year; APY per block.

        The per-block rate is what accrueInterest charges each block; since the merge a block comes every
        12 seconds, so a year has 2,628,000 of them (the models' own 2,102,400 only sets their parameters).
        """
        rows: list[Yield] = []
        for m, results in await self._per_market(reader, (*RATE_READS, RESERVE_FACTOR)):
            *rate_results, factor = results
            rates = self.require(rate_results)
            token = self.deployment.token_at(m.underlying)
            symbol = token.symbol if token is not None else m.underlying
            shares = (None, knob_share(self.info.slug, factor))
            for kind, per_block, sig, share in zip(
                (YieldKind.SUPPLY, YieldKind.BORROW), rates, RATE_READS, shares, strict=True
            ):
                apr = per_block_to_apr(per_block, ETHEREUM_BLOCKS_PER_YEAR)
                apy = apr_to_apy(apr, ETHEREUM_BLOCKS_PER_YEAR)
                method = f"{sig.split('(')[0]} x {ETHEREUM_BLOCKS_PER_YEAR} blocks / 1e18; APY compounded per block"
                rows.append(
                    Yield(self.info.slug, m.ctoken, m.underlying, symbol, kind, exact_decimal(apr), apy, method, share)
                )
        return rows
