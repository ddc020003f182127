"""A seeded, reproducible market on the devnet: feeds wander, arbitrageurs follow, traders and LPs act.

Each `tick` moves every price feed one step of a random walk (volatility regimes that switch, and rare
shocks), then arbitrageurs trade every Uniswap pool back to the feed prices through the real routers,
then a few traders swap and, now and then, an LP adds liquidity. The same seed on the same starting
state gives the same chain: block timestamps advance by a fixed interval, and every random choice comes
from one `random.Random(seed)`.

A tick is one slot of mainnet: its transactions share one block (`Sender.block`; more only when they outgrow
the block gas limit), `seconds_per_block` after the last one (the chain's typical block time: 12 s on
Ethereum, 3 s on BNB Chain). So a follower such as `serve`'s indexer has a block per tick to read, not one per
transaction, and the random walk steps by the chain time since the previous tick's prices.

    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7))
    sim.start()
    for _ in range(10):
        report = sim.tick()
    sim.stop()

More agents (lenders, vault owners, stakers, liquidators) plug in through `SimulationConfig.agents`:
callables that get the simulation and its random generator once per tick. Left at None, the chain's
protocols bring theirs (`devnet.agents.default_agents`: Aave, Compound, Maker, Lido, EigenLayer users and
the liquidators), acting from fresh funded addresses.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt
from typing import Final

import structlog
from web3.contract import Contract

from defiscope.chain.registry import get_chain
from defiscope.devnet.agents import default_agents
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import FEED_PREFIX, ROUTES
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.spec import CHAIN_SPECS, FEED_DECIMALS, TokenSpec
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain, DevnetPool

log = structlog.get_logger(__name__)

SECONDS_PER_YEAR: Final = 365 * 24 * 3600
#: `serve`'s pace: one market step per chain every this many seconds (a step must fit in it to keep up).
DEFAULT_TICK_SECONDS: Final = 2.0
STABLE_PAIRS: Final = frozenset({"USDC/USD", "USDT/USD", "DAI/USD"})
#: Pools closer than this to the feed price are left alone (arbitrage would not pay its gas).
ARBITRAGE_BAND: Final = Fraction(1, 1000)

Agent = Callable[["Simulation", random.Random], None]


@dataclass(frozen=True, slots=True)
class Regime:
    name: str
    annual_volatility: float


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    seed: int = 7
    #: Seconds between blocks; None: the chain's typical block time, in whole seconds (anvil's clock steps).
    seconds_per_block: int | None = None
    #: False: every transaction mined in a block of its own, as before ticks shared blocks (a benchmark baseline).
    shared_blocks: bool = True
    #: Simulated seconds a tick stands for (the random walk's step); None: the chain seconds since the last tick.
    #: `fast_forward` sets it when it warps the clock to a fixed step per tick.
    seconds_per_tick: int | None = None
    regimes: tuple[Regime, ...] = (Regime("calm", 0.45), Regime("volatile", 1.4))
    regime_switch_probability: float = 0.03  # per tick
    shock_probability: float = 0.01  # per tick and feed
    shock_size: float = 0.12  # a shock moves a price by up to this fraction, either way
    stable_deviation: float = 0.001  # stablecoins wander this much around $1
    trades_per_tick: float = 2.0  # mean of a Poisson draw
    trade_usd: tuple[float, float] = (2_000.0, 150_000.0)  # log-uniform range of a trade's size
    lp_every: int = 10  # ticks between LP actions
    #: None: the default agents of the chain's protocols (`devnet.agents.default_agents`); () for none.
    agents: tuple[Agent, ...] | None = None


@dataclass(frozen=True, slots=True)
class TickReport:
    tick: int
    regime: str
    prices: Mapping[str, Fraction]  # feed pair -> USD
    arbitrages: int
    trades: int
    lp_actions: int
    last_block: int


class Simulation:
    """Drives one devnet chain. All transactions come from account 0, which owns the world's supplies."""

    def __init__(self, chain: DevnetChain, config: SimulationConfig | None = None) -> None:
        self.chain = chain
        self.config = config or SimulationConfig()
        self.rng = random.Random(self.config.seed)
        self.sender = Sender.connect(chain.rpc_url)
        self.spec = CHAIN_SPECS[chain.chain_id]
        feed_artifact = contract_artifact("PriceFeed")
        self.feeds: dict[str, Contract] = {
            name[len(FEED_PREFIX) :]: self.sender.contract(feed_artifact, address)
            for name, address in chain.contracts.items()
            if name.startswith(FEED_PREFIX)
        }
        # The feeds' current answers, not the spec's prices: a resumed devnet's market goes on from where it was.
        self.prices: dict[str, Fraction] = {
            pair: Fraction(feed.functions.latestAnswer().call(), 10**FEED_DECIMALS) for pair, feed in self.feeds.items()
        }
        self.tokens: dict[str, TokenSpec] = {chain.tokens[t.symbol]: t for t in self.spec.tokens}
        self.regime = self.config.regimes[0]
        self.ticks = 0
        self.block_seconds = self.config.seconds_per_block or max(1, round(get_chain(chain.chain_id).block_time))
        self.priced_at: int | None = None  # timestamp of the block of the latest price step
        self.v2_router = self.sender.contract(npm_artifact("UniswapV2Router02"), chain.contracts["UniswapV2Router02"])
        self.v3_router = self.sender.contract(npm_artifact("SwapRouter"), chain.contracts["SwapRouter"])
        self.pools = [p for p in chain.pools if p.dex in ("uniswap-v2", "uniswap-v3") and self._priced(p)]
        self.agents = default_agents(chain) if self.config.agents is None else self.config.agents

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Fix the block clock and give account 0 what arbitrage needs (wrapped native, router approvals)."""
        self.sender.rpc("anvil_setBlockTimestampInterval", [self.block_seconds])
        wrapped = next(t for t in self.spec.tokens if t.wrapped_native)
        weth = self.sender.contract(npm_artifact("WETH9"), self.chain.tokens[wrapped.symbol])
        self.sender.send(weth.functions.deposit(), value=wrapped.units(50_000))
        erc20 = contract_artifact("DevToken")
        for address in self.tokens:
            token = self.sender.contract(erc20, address)
            self.sender.send(token.functions.approve(self.v3_router.address, MAX_UINT256))
        log.info("simulation.started", chain_id=self.chain.chain_id, seed=self.config.seed, pools=len(self.pools))

    def stop(self) -> None:
        self.sender.rpc("anvil_removeBlockTimestampInterval", [])

    def run(self, ticks: int) -> list[TickReport]:
        return [self.tick() for _ in range(ticks)]

    def tick(self) -> TickReport:
        self.ticks += 1
        with self.sender.block() if self.config.shared_blocks else contextlib.nullcontext():
            self._move_prices()
            for pair, feed in self.feeds.items():
                self.sender.submit(feed.functions.updateAnswer(int(self.prices[pair] * 10**FEED_DECIMALS)))
            arbitrages = sum(self._arbitrage(pool) for pool in self.pools)
            trades = self._poisson(self.config.trades_per_tick)
            for _ in range(trades):
                self._trade(self.rng.choice(self.pools))
            lp_actions = 0
            if self.config.lp_every and self.ticks % self.config.lp_every == 0:
                lp_actions = self._provide_liquidity()
            for agent in self.agents:
                agent(self, self.rng)
        report = TickReport(
            self.ticks,
            self.regime.name,
            dict(self.prices),
            arbitrages,
            trades,
            lp_actions,
            self.sender.w3.eth.block_number,
        )
        log.debug("simulation.tick", tick=self.ticks, regime=self.regime.name, arbitrages=arbitrages, trades=trades)
        return report

    # ------------------------------------------------------------------ prices

    def _move_prices(self) -> None:
        if self.rng.random() < self.config.regime_switch_probability:
            others = [r for r in self.config.regimes if r is not self.regime]
            self.regime = self.rng.choice(others) if others else self.regime
        seconds = self.config.seconds_per_tick or self._seconds_since_priced()
        step = self.regime.annual_volatility * math.sqrt(seconds / SECONDS_PER_YEAR)
        for pair in sorted(self.prices):
            if pair in STABLE_PAIRS:
                deviation = self.rng.uniform(-self.config.stable_deviation, self.config.stable_deviation)
                self.prices[pair] = Fraction(1) + Fraction(deviation).limit_denominator(10**8)
                continue
            move = self.rng.gauss(-step * step / 2, step)
            if self.rng.random() < self.config.shock_probability:
                move += self.rng.uniform(-self.config.shock_size, self.config.shock_size)
            new = self.prices[pair] * Fraction(math.exp(move)).limit_denominator(10**12)
            self.prices[pair] = Fraction(int(new * 10**FEED_DECIMALS), 10**FEED_DECIMALS)

    def _seconds_since_priced(self) -> int:
        """Chain seconds from the previous price step's block to this one's (the feeds' updates go first into the
        next block); one block's time on the first tick. Volatility is per unit of time, whatever a tick spans."""
        now = self.sender.pending_timestamp()
        elapsed = self.block_seconds if self.priced_at is None else now - self.priced_at
        self.priced_at = now
        return max(1, elapsed)

    def token_usd(self, address: str) -> Fraction | None:
        token = self.tokens.get(address)
        route = ROUTES.get(token.symbol) if token else None
        if token is None or route is None or any(pair not in self.prices for pair in route):
            return None
        price = Fraction(1)
        for pair in route:
            price *= self.prices[pair]
        return price

    def _usd(self, address: str) -> Fraction:
        price = self.token_usd(address)
        if price is None:
            raise DevnetError(f"the simulation has no feed price for token {address}")
        return price

    def _priced(self, pool: DevnetPool) -> bool:
        return self.token_usd(pool.token0) is not None and self.token_usd(pool.token1) is not None

    def _raw_price(self, pool: DevnetPool) -> Fraction:
        """Target price of the pool: raw token1 per raw token0 at the feed prices."""
        t0, t1 = self.tokens[pool.token0], self.tokens[pool.token1]
        return self._usd(pool.token0) / self._usd(pool.token1) * Fraction(10**t1.decimals, 10**t0.decimals)

    # ------------------------------------------------------------------ agents

    def _arbitrage(self, pool: DevnetPool) -> int:
        return self._arbitrage_v2(pool) if pool.dex == "uniswap-v2" else self._arbitrage_v3(pool)

    def _arbitrage_v2(self, pool: DevnetPool) -> int:
        pair = self.sender.contract(npm_artifact("UniswapV2Pair"), pool.address)
        r0, r1, _ = pair.functions.getReserves().call()
        target = self._raw_price(pool)
        k = r0 * r1
        # Constant product: at price p = r1/r0 the reserves are r0 = sqrt(k/p), r1 = sqrt(k*p).
        r0_target = isqrt(k * target.denominator // target.numerator)
        if abs(Fraction(r0_target, r0) - 1) < ARBITRAGE_BAND:
            return 0
        if r0_target > r0:
            amount_in, path = (r0_target - r0) * 1000 // 997, [pool.token0, pool.token1]
        else:
            amount_in, path = (
                (isqrt(k * target.numerator // target.denominator) - r1) * 1000 // 997,
                [pool.token1, pool.token0],
            )
        if amount_in <= 0:
            return 0
        self.sender.submit(
            self.v2_router.functions.swapExactTokensForTokens(amount_in, 0, path, self.sender.owner, DEADLINE)
        )
        return 1

    def _arbitrage_v3(self, pool: DevnetPool) -> int:
        contract = self.sender.contract(npm_artifact("UniswapV3Pool"), pool.address)
        sqrt_price: int = contract.functions.slot0().call()[0]
        target = self._raw_price(pool)
        target_sqrt = isqrt((target.numerator << 192) // target.denominator)
        if abs(Fraction(target_sqrt, sqrt_price) - 1) < ARBITRAGE_BAND / 2:
            return 0
        zero_for_one = target_sqrt < sqrt_price  # the price of token0 must fall: sell token0
        token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
        erc20 = self.sender.contract(contract_artifact("DevToken"), token_in)
        # Offer plenty and let the price limit stop the swap exactly at the target.
        amount_in = min(
            erc20.functions.balanceOf(pool.address).call() * 4 + 1, erc20.functions.balanceOf(self.sender.owner).call()
        )
        params = (token_in, token_out, pool.fee, self.sender.owner, DEADLINE, amount_in, 0, target_sqrt)
        self.sender.submit(self.v3_router.functions.exactInputSingle(params))
        return 1

    def _trade(self, pool: DevnetPool) -> None:
        low, high = self.config.trade_usd
        usd = Fraction(math.exp(self.rng.uniform(math.log(low), math.log(high)))).limit_denominator(100)
        token_in, token_out = (pool.token0, pool.token1) if self.rng.random() < 0.5 else (pool.token1, pool.token0)
        amount_in = self.tokens[token_in].units(usd / self._usd(token_in))
        if pool.dex == "uniswap-v2":
            call = self.v2_router.functions.swapExactTokensForTokens(
                amount_in, 0, [token_in, token_out], self.sender.owner, DEADLINE
            )
        else:
            call = self.v3_router.functions.exactInputSingle(
                (token_in, token_out, pool.fee, self.sender.owner, DEADLINE, amount_in, 0, 0)
            )
        self.sender.submit(call)

    def _provide_liquidity(self) -> int:
        v2_pools = [p for p in self.pools if p.dex == "uniswap-v2"]
        if not v2_pools:
            return 0
        pool = self.rng.choice(v2_pools)
        usd = Fraction(self.rng.randint(10_000, 250_000))
        amounts = []
        for token in (pool.token0, pool.token1):
            amounts.append(self.tokens[token].units(usd / self._usd(token)))
        call = self.v2_router.functions.addLiquidity(
            pool.token0, pool.token1, *amounts, 0, 0, self.sender.owner, DEADLINE
        )
        self.sender.submit(call)
        return 1

    def _poisson(self, mean: float) -> int:
        """Knuth's method: small means only, which is all a tick needs."""
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count


def run_simulations(chains: Sequence[DevnetChain], config: SimulationConfig, ticks: int) -> list[list[TickReport]]:
    sims = [Simulation(chain, config) for chain in chains]
    for sim in sims:
        sim.start()
    try:
        return [sim.run(ticks) for sim in sims]
    finally:
        for sim in sims:
            sim.stop()
