"""The scale world's market: seeded swaps, liquidity and transfers spread over its pairs and pools, one block
at a time.

A mainnet block holds a couple of hundred transactions touching a few hundred of the hundreds of
thousands of pools. `step(n)` makes one block of ``n`` such changes, sent by the scale traders (accounts
1..4) through the real periphery: Router02 swaps and `addLiquidity` on V2 pairs, SwapRouter swaps and
position-manager mints on V3 pools, and ERC-20 transfers (between traders, which touch no pool, and into
V3 pools, which change what a pool holds without any pool event). Every choice comes from one
`random.Random(seed)`: the same seed on the same world gives the same blocks.

    sim = ScaleSimulation(chain, ScaleSize(pairs=2_000, pools=200), seed=7)
    report = sim.step(200)
    report.block, report.touched              # the block mined, the pools whose state changed
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal, cast

from eth_typing import ABI
from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.batch_tx import BUILD_GAS_LIMIT, TxBatch, rpc_batch
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.scale import TRADERS, PairSeed, PoolSeed, ScalePlan, ScaleSize
from defiscope.devnet.tx import DEADLINE
from defiscope.devnet.world import DevnetChain

Change = Literal["v2-swap", "v3-swap", "v2-mint", "v3-mint", "transfer", "donation"]
#: How often each change happens (V3 ones only when the world has V3 pools).
WEIGHTS: Final[dict[Change, int]] = {
    "v2-swap": 45,
    "v3-swap": 25,
    "v2-mint": 8,
    "v3-mint": 4,
    "transfer": 10,
    "donation": 8,
}
#: Gas budgets (measured on anvil 1.7.1, with a margin): each transaction carries its own, nothing is estimated.
GAS: Final[dict[Change, int]] = {
    "v2-swap": 300_000,
    "v3-swap": 500_000,
    "v2-mint": 350_000,
    "v3-mint": 800_000,
    "transfer": 100_000,
    "donation": 100_000,
}


@dataclass(frozen=True, slots=True)
class StepReport:
    block: int
    changes: Counter[Change]
    touched: frozenset[str]  # pairs and pools whose balances or reserves changed in the block


class ScaleSimulation:
    """Blocks of seeded market activity on a scale world (see the module docstring)."""

    def __init__(self, chain: DevnetChain, size: ScaleSize, seed: int = 7) -> None:
        self.url = chain.rpc_url
        self.plan = ScalePlan.of(chain, size)
        self.rng = random.Random(seed)
        w3 = Web3()

        def abi_of(name: str, ours: bool = False) -> type[Contract]:
            artifact = contract_artifact(name) if ours else npm_artifact(name)
            return w3.eth.contract(abi=cast(ABI, artifact.abi))

        self.v2_router = chain.contracts["UniswapV2Router02"]
        self.v3_router = chain.contracts["SwapRouter"]
        self.manager = chain.contracts["NonfungiblePositionManager"]
        self._v2 = abi_of("UniswapV2Router02")
        self._v3 = abi_of("SwapRouter")
        self._npm = abi_of("NonfungiblePositionManager")
        self._erc20 = abi_of("DevToken", ours=True)
        kinds = [k for k in WEIGHTS if self.plan.pools or (not k.startswith("v3") and k != "donation")]
        self._kinds: list[Change] = kinds
        self._weights = [WEIGHTS[k] for k in kinds]
        # Sim blocks hold hundreds of transactions: lift the block gas limit (a loaded node starts at 30M).
        rpc_batch(self.url, [("evm_setBlockGasLimit", [hex(BUILD_GAS_LIMIT)])])

    def step(self, changes: int = 200) -> StepReport:
        """Mine one block with ``changes`` transactions; raises `DevnetError` if any of them failed."""
        if changes < 1:
            raise DevnetError(f"a scale step needs at least one change, got {changes}")
        batch = TxBatch(self.url)
        made: Counter[Change] = Counter()
        touched: set[str] = set()
        for kind in self.rng.choices(self._kinds, self._weights, k=changes):
            trader = self.rng.choice(TRADERS)
            to, data, pool = self._change(kind, trader)
            batch.add(trader, to, data, gas=GAS[kind])
            made[kind] += 1
            if pool is not None:
                touched.add(pool)
        receipts = batch.mine()
        return StepReport(int(receipts[-1]["blockNumber"], 16), made, frozenset(touched))

    def _change(self, kind: Change, trader: str) -> tuple[str, str, str | None]:
        """(contract called, calldata, pool touched or None) of one change."""
        rng = self.rng
        if kind in ("v2-swap", "v2-mint"):
            pair = rng.choice(self.plan.pairs)
            return self._v2_change(kind, pair, trader)
        if kind == "transfer":
            token = rng.choice(self.plan.tokens)
            other = rng.choice([t for t in TRADERS if t != trader])
            return token, self._erc20.encode_abi("transfer", [other, rng.randrange(10**15, 10**18)]), None
        pool = rng.choice(self.plan.pools)
        if kind == "donation":
            token = rng.choice((pool.token0, pool.token1))
            amount = (pool.amount0 if token == pool.token0 else pool.amount1) // rng.randrange(10_000, 100_000)
            return token, self._erc20.encode_abi("transfer", [pool.address, amount]), pool.address
        return self._v3_change(kind, pool, trader)

    def _v2_change(self, kind: Change, pair: PairSeed, trader: str) -> tuple[str, str, str | None]:
        share = self.rng.randrange(200, 2_000)  # trade 1/share of the seeded side: 0.05 % to 0.5 %
        if kind == "v2-swap":
            a, b, amount = (
                (pair.token_a, pair.token_b, pair.amount_a)
                if self.rng.random() < 0.5
                else (pair.token_b, pair.token_a, pair.amount_b)
            )
            data = self._v2.encode_abi("swapExactTokensForTokens", [amount // share, 0, [a, b], trader, DEADLINE])
        else:
            args = [pair.token_a, pair.token_b, pair.amount_a // share, pair.amount_b // share, 0, 0, trader, DEADLINE]
            data = self._v2.encode_abi("addLiquidity", args)
        return self.v2_router, data, pair.address

    def _v3_change(self, kind: Change, pool: PoolSeed, trader: str) -> tuple[str, str, str | None]:
        share = self.rng.randrange(200, 2_000)
        if kind == "v3-swap":
            zero_for_one = self.rng.random() < 0.5
            token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
            amount = (pool.amount0 if zero_for_one else pool.amount1) // share
            params = (token_in, token_out, pool.fee, trader, DEADLINE, amount, 0, 0)
            return self.v3_router, self._v3.encode_abi("exactInputSingle", [params]), pool.address
        amounts = (pool.amount0 // share, pool.amount1 // share)
        position = (pool.token0, pool.token1, pool.fee, pool.tick_lower, pool.tick_upper, *amounts, 0, 0)
        return self.manager, self._npm.encode_abi("mint", [(*position, trader, DEADLINE)]), pool.address
