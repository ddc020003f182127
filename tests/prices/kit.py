"""Test helpers that change the devnet through its real contracts: feeds, tokens, V3 pools, swaps, time."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import isqrt
from typing import Any

from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.base import TokenRef

FULL_RANGE_60 = 887220  # MAX_TICK rounded down to the 3000-fee tick spacing (60)


@dataclass(slots=True)
class Kit:
    chain: DevnetChain
    deployment: Deployment
    sender: Sender

    @classmethod
    def connect(cls, chain: DevnetChain, deployment: Deployment) -> Kit:
        return cls(chain, deployment, Sender.connect(chain.rpc_url))

    # ------------------------------------------------------------ reading helpers

    def ref(self, symbol: str) -> TokenRef:
        info = self.deployment.token(symbol)
        return TokenRef(self.deployment.chain_id, info.address, info.symbol, info.decimals)

    def refs(self) -> list[TokenRef]:
        return [self.ref(s) for s in self.deployment.tokens]

    @staticmethod
    async def batcher(client: ChainClient) -> Batcher:
        return Batcher(await client.snapshot())

    # ------------------------------------------------------------ time and feeds

    def now(self) -> int:
        return int(self.sender.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        self.sender.rpc("evm_increaseTime", [seconds])
        self.sender.rpc("evm_mine", [])

    def refresh_feeds(self) -> None:
        """A new round with the same answer on every feed, so time travel does not make them stale."""
        for pair in self.deployment.feeds:
            feed = self.feed(pair)
            self.sender.send(feed.functions.updateAnswer(feed.functions.latestAnswer().call()))

    def feed(self, pair: str) -> Contract:
        return self.sender.contract(contract_artifact("PriceFeed"), self.deployment.feeds[pair].address)

    def set_answer(self, pair: str, answer: int) -> None:
        self.sender.send(self.feed(pair).functions.updateAnswer(answer))

    def set_round(self, pair: str, answer: int, updated_at: int) -> None:
        feed = self.feed(pair)
        round_id = feed.functions.latestRound().call() + 1
        self.sender.send(feed.functions.updateRoundData(round_id, answer, updated_at, updated_at))

    # ------------------------------------------------------------ tokens and pools

    def token(self, address: str) -> Contract:
        return self.sender.contract(contract_artifact("DevToken"), address)

    def new_token(self, symbol: str, decimals: int, supply: int) -> Contract:
        token = self.sender.deploy(contract_artifact("DevToken"), f"Test {symbol}", symbol, decimals)
        self.sender.send(token.functions.mint(self.sender.owner, supply))
        return token

    def approve(self, token: str, spender: str) -> None:
        self.sender.send(self.token(token).functions.approve(spender, MAX_UINT256))

    def v3_pool(
        self,
        token: str,
        core: str,
        fee: int,
        token_usd: Fraction,
        core_usd: Fraction,
        token_decimals: int,
        core_decimals: int,
        core_amount: int,
    ) -> Contract:
        """Create and initialize a V3 pool at `token_usd`, with one full-range position holding about
        `core_amount` raw units of the core asset (and the matching token amount)."""
        manager = self.sender.contract(
            npm_artifact("NonfungiblePositionManager"), self.deployment.contract("NonfungiblePositionManager")
        )
        token0, token1 = sorted((token, core), key=lambda a: int(a, 16))
        # raw token1 per raw token0
        price_token_in_core = token_usd / core_usd * Fraction(10**core_decimals, 10**token_decimals)
        price = price_token_in_core if token0 == token else 1 / price_token_in_core
        sqrt_price = isqrt((price.numerator << 192) // price.denominator)
        self.sender.send(manager.functions.createAndInitializePoolIfNecessary(token0, token1, fee, sqrt_price))
        factory = self.sender.contract(npm_artifact("UniswapV3Factory"), self.deployment.contract("UniswapV3Factory"))
        pool = self.sender.contract(
            npm_artifact("UniswapV3Pool"), factory.functions.getPool(token0, token1, fee).call()
        )
        token_amount = int(Fraction(core_amount) / price_token_in_core)
        amounts = {token: token_amount, core: core_amount}
        for t in (token0, token1):
            self.approve(t, manager.address)
        spacing = factory.functions.feeAmountTickSpacing(fee).call()
        top = 887272 // spacing * spacing
        params = (token0, token1, fee, -top, top, amounts[token0], amounts[token1], 0, 0, self.sender.owner, DEADLINE)
        self.sender.send(manager.functions.mint(params))
        return pool

    def swap_exact_in(self, token_in: str, token_out: str, fee: int, amount_in: int) -> Any:
        router = self.sender.contract(npm_artifact("SwapRouter"), self.deployment.contract("SwapRouter"))
        self.approve(token_in, router.address)
        params = (token_in, token_out, fee, self.sender.owner, DEADLINE, amount_in, 0, 0)
        return self.sender.send(router.functions.exactInputSingle(params))

    def grow_observations(self, pool: Contract, cardinality: int) -> None:
        self.sender.send(pool.functions.increaseObservationCardinalityNext(cardinality))

    def pool_state(self, pool: Contract) -> tuple[int, int]:
        """(sqrtPriceX96, tick) of a V3 pool now."""
        slot0 = pool.functions.slot0().call()
        return int(slot0[0]), int(slot0[1])

    def block_time(self, receipt: Any) -> int:
        return int(self.sender.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
