"""The devnet's protocols are their real mid-2025 TVLs scaled down by one factor, and rank as the real ones.

The targets come from `devnet.sizes` (public DefiLlama figures); the TVLs are read from the seeded chains by
the same engine `defiscope tvl` uses, then again after a short market simulation.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from itertools import combinations

from defiscope.chain.client import ChainClient
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.sizes import MID_2025_TVL, SCALE, devnet_target_usd
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.registry import adapters_for
from defiscope.tvl.engine import TvlEngine

#: How far a seeded protocol may land from its target (pool math and interest move it a little).
SEED_TOLERANCE = Fraction(8, 100)
#: Two protocols whose real TVLs differ by more than this factor must rank in the same order on the devnet.
CLEAR_GAP = Fraction(5, 4)


async def devnet_tvls(devnet: Devnet) -> dict[str, Fraction]:
    """TVL (kind `tvl`, US dollars) per protocol slug, summed over the devnet's chains."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for chain in devnet.chains:
        deployment = devnet_deployment(chain)
        async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
            engine = TvlEngine(client, deployment, adapters_for(deployment), PriceAggregator(deployment))
            result = await engine.snapshot()
        assert not result.failures
        for snap in result.snapshots:
            assert not snap.unpriced, snap.slug
            totals[snap.slug] += snap.total(BalanceKind.TVL)
    return {slug: Fraction(value) for slug, value in totals.items()}


def clearly_ordered() -> list[tuple[str, str]]:
    """(larger, smaller) slug pairs whose real TVLs are at least CLEAR_GAP apart."""
    ordered = sorted(MID_2025_TVL, key=lambda t: t.usd_billions, reverse=True)
    return [(a.slug, b.slug) for a, b in combinations(ordered, 2) if a.usd_billions >= b.usd_billions * CLEAR_GAP]


async def test_each_protocol_is_its_real_tvl_scaled_down(devnet: Devnet) -> None:
    tvls = await devnet_tvls(devnet)
    for real in MID_2025_TVL:
        target = devnet_target_usd(real.slug)
        assert target == real.usd_billions * 10**9 * SCALE
        assert abs(tvls[real.slug] / target - 1) <= SEED_TOLERANCE, (real.slug, float(tvls[real.slug]))


async def test_ranking_at_the_first_block_is_the_real_one(devnet: Devnet) -> None:
    tvls = await devnet_tvls(devnet)
    ranked = sorted((t.slug for t in MID_2025_TVL), key=lambda slug: tvls[slug], reverse=True)
    assert ranked[:5] == ["lido", "aave-v3", "eigenlayer", "makerdao", "uniswap-v3"]
    for larger, smaller in clearly_ordered():
        assert tvls[larger] > tvls[smaller], (larger, smaller)


def test_ranking_holds_under_simulation(devnet: Devnet) -> None:
    # Synchronous: the simulation's liquidators run their own event loops.
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=21))
    sim.start()
    try:
        sim.run(4)
    finally:
        sim.stop()
    tvls = asyncio.run(devnet_tvls(devnet))
    for larger, smaller in clearly_ordered():
        assert tvls[larger] > tvls[smaller], (larger, smaller)
