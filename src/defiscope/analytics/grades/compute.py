"""The compute step: factors of every graded family at one stored block of chain 1, stored; and read back.

    tokens = graded_tokens([devnet_deployment(eth), devnet_deployment(bnb)])
    values = await compute_factors(repo, reader_for, 1234, tokens=tokens, revenue_shares={"aave-v3": Fraction(1, 10)})
    factors_at(repo, 1234) == values      # what grades read; computing 1234 again replaces its rows

`reader_for(block)` gives a `Reader` pinned to that block of its chain (None when there is no connection to
that chain): the governance tokens' totalSupply is read through it at the token chain's horizon block, so the
fully diluted value is the chain's answer at that block, with the call in the reader's provenance. Nothing in the
store holds supplies, and reading them pinned keeps them point-in-time without a new table.

Revenue is each stored rate x the share its market's knob had at that block (`Yield.fee_share`, read with the
rate); `revenue_shares` maps an adapter slug to a documented share (a Fraction) for the rates no knob splits. A
rate with neither, or whose knob could not be read, makes its family's revenue factors missing, with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, localcontext
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from defiscope.analytics.grades.catalog import CLOCK_CHAIN, GRADED
from defiscope.analytics.grades.factors import market_factors
from defiscope.analytics.grades.figures import PRECISION, Figure, Stamp
from defiscope.analytics.grades.inputs import horizon_at, load_market
from defiscope.analytics.grades.market import TokenRef
from defiscope.chain.block import BlockRef
from defiscope.chain.errors import ChainError
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.errors import InputError
from defiscope.protocols.revenue import documented_shares
from defiscope.store import Repository
from defiscope.store.factors import FactorStore, FactorValue, InputBlock

#: A reader pinned to the block given, on that block's chain; None when the chain is not connected.
ReaderFactory = Callable[[BlockRef], Reader | None]
TOTAL_SUPPLY: Final = "totalSupply()(uint256)"
NO_SHARES: Final[Mapping[str, Fraction]] = MappingProxyType({})
#: The shares no contract exposes (`protocols.revenue` constants: Maker, EigenLayer); every other share is read
#: from chain with the rates it splits.
DOCUMENTED_SHARES: Final[Mapping[str, Fraction]] = MappingProxyType(documented_shares())


class BlockNotStored(InputError):
    """Factors are computed at indexed blocks only."""


def graded_tokens(deployments: Iterable[Deployment]) -> dict[str, TokenRef]:
    """The graded families' tokens found in the registries, the first registry listing a symbol winning."""
    found: dict[str, TokenRef] = {}
    for deployment in deployments:
        for entity in GRADED.values():
            info = deployment.tokens.get(entity.token)
            if info is not None and entity.token not in found:
                found[entity.token] = TokenRef(entity.token, deployment.chain_id, info.address, info.decimals)
    return found


async def compute_factors(
    repo: Repository,
    reader_for: ReaderFactory,
    block_number: int,
    *,
    tokens: Mapping[str, TokenRef],
    revenue_shares: Mapping[str, Fraction] = NO_SHARES,
) -> list[FactorValue]:
    """Every factor of every graded family at stored block `block_number` of chain 1, stored (replacing what was
    stored at that block) and returned by family then factor name."""
    store = FactorStore(repo.engine)
    clock = store.block(CLOCK_CHAIN, block_number)
    if clock is None:
        raise BlockNotStored(f"block {block_number} of chain {CLOCK_CHAIN} is not stored", field="block")
    horizon = await asyncio.to_thread(horizon_at, repo, clock)
    supplies = await read_supplies(tokens, horizon, reader_for)
    market = await asyncio.to_thread(load_market, repo, clock, horizon, tokens, supplies, revenue_shares)
    figures = [(slug, name, f) for slug, fs in sorted(market_factors(market).items()) for name, f in sorted(fs.items())]
    on_clock = await asyncio.to_thread(_clock_blocks, store, clock, [f.newest for _, _, f in figures])
    values = [_value(slug, name, clock, figure, on_clock) for slug, name, figure in figures]
    await asyncio.to_thread(store.replace_block, clock, values)
    return values


def factors_at(repo: Repository, block_number: int, chain_id: int = CLOCK_CHAIN) -> list[FactorValue]:
    """The factors stored at a block, by family then factor name ([] when none were computed there)."""
    return FactorStore(repo.engine).at_block(chain_id, block_number)


async def read_supplies(
    tokens: Mapping[str, TokenRef], horizon: Mapping[int, BlockRef], reader_for: ReaderFactory
) -> dict[str, Figure]:
    """Each token's totalSupply in whole tokens at its chain's horizon block, or why it could not be read."""
    symbols = sorted(tokens)
    read = await asyncio.gather(*(_supply(tokens[s], horizon, reader_for) for s in symbols))
    return dict(zip(symbols, read, strict=True))


async def _supply(token: TokenRef, horizon: Mapping[int, BlockRef], reader_for: ReaderFactory) -> Figure:
    block = horizon.get(token.chain_id)
    if block is None:
        return Figure.lacking(f"no block of chain {token.chain_id} is stored to read {token.symbol}'s totalSupply at")
    reader = reader_for(block)
    if reader is None:
        return Figure.lacking(f"no connection to chain {token.chain_id} to read {token.symbol}'s totalSupply")
    stamp = Stamp(block.timestamp, block.chain_id, block.number)
    try:
        result = await reader.call(Call.of(token.address, TOTAL_SUPPLY))
    except ChainError as exc:
        return Figure.lacking(f"{token.symbol}.totalSupply() at block {block.number} failed: {exc}", stamp)
    if not result.success:
        return Figure.lacking(f"{token.symbol}.totalSupply() at block {block.number} reverted: {result.error}", stamp)
    with localcontext() as context:
        context.prec = PRECISION
        return Figure.of(Decimal(int(result.value[0])) / Decimal(10) ** token.decimals, stamp)


def _clock_blocks(store: FactorStore, clock: BlockRef, stamps: Iterable[Stamp | None]) -> dict[Stamp, int | None]:
    """Each input block's counterpart on the clock's chain: itself there; else the newest clock-chain block at or
    before its time."""
    found: dict[Stamp, int | None] = {}
    for stamp in stamps:
        if stamp is None or stamp in found:
            continue
        same_chain = stamp.chain_id == clock.chain_id
        found[stamp] = stamp.number if same_chain else store.clock_block_at(clock, stamp.timestamp)
    return found


def _value(slug: str, name: str, clock: BlockRef, figure: Figure, on_clock: Mapping[Stamp, int | None]) -> FactorValue:
    if figure.newest is None:
        return FactorValue(slug, name, clock, figure.value, figure.missing, None)
    inputs = InputBlock(figure.newest.chain_id, figure.newest.number)
    return FactorValue(slug, name, clock, figure.value, figure.missing, inputs, on_clock[figure.newest])
