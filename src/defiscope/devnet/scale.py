"""The scale world: the standard chain-1 world plus tens of thousands of real Uniswap pairs and pools.

Mainnet has about 400,000 Uniswap V2 pairs and 40,000 V3 pools; a snapshot that re-reads each of them
cannot keep up with blocks. This world puts that order of magnitude on the devnet so the same code path
runs here: ``ScaleSize().tokens`` new ERC-20s (`DevToken`), a V2 pair for each of the first
``pairs`` token couples and ``pools`` V3 pools (four fee tiers per couple), each created by the standard
world's real factories and seeded with liquidity. Nothing of it is listed in the registry's ``pools``:
like mainnet's long tail, it is found from the factories.

    size = ScaleSize(pairs=2_000, pools=200)
    chain = build_scale(rpc_url, chain, size)          # after deploy_world; adds SCALE-000.. tokens
    plan = ScalePlan.of(chain, size)                   # what was built: seeds, addresses

Speed (why it is built this way): `ScaleBuilder` creates and seeds a few hundred pairs per transaction,
`TxBatch` sends many transactions per block, and the block gas limit is raised while building.
Token prices and pool sizes come from one seeded `random.Random`, so a size always gives the same world.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import isqrt
from types import MappingProxyType
from typing import Final, TypeVar

from eth_abi.abi import encode
from eth_utils.crypto import keccak
from web3 import Web3

from defiscope.devnet.anvil import ACCOUNTS
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.batch_tx import BUILD_GAS_LIMIT, TxBatch, rpc_batch
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.tx import MAX_UINT256
from defiscope.devnet.world import DevnetChain

#: Mainnet's pair and pool init-code hashes, which the npm bytecode has (see FACTS.md).
V2_PAIR_INIT_HASH: Final = bytes.fromhex("96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f")
V3_POOL_INIT_HASH: Final = bytes.fromhex("e34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54")
#: The fee tiers of the devnet's V3 factory and their tick spacings; each token couple gets one pool per tier.
V3_FEES: Final = MappingProxyType({500: 10, 3000: 60, 10_000: 200, 100: 1})
MAX_TICK: Final = 887272
TOKEN_PREFIX: Final = "SCALE-"
BUILDER: Final = "ScaleBuilder"
#: Accounts 1..4 trade in the scale simulation; they hold every scale token and approved the routers.
TRADERS: Final = ACCOUNTS[1:5]
TOKEN_UNIT: Final = 10**18
BUILDER_FUNDS: Final = 10**30  # raw units of each token the builder seeds pools with
TRADER_FUNDS: Final = 10**28
# Gas budgets per operation (measured with anvil 1.7.1 plus a margin): a pair creation deploys ~10 kB of
# code, a V3 pool ~22 kB.
GAS_PER_PAIR: Final = 3_000_000
GAS_PER_POOL: Final = 5_600_000
PAIRS_PER_TX: Final = 250
POOLS_PER_TX: Final = 100
TXS_PER_BLOCK: Final = 16
SEED: Final = 13
T = TypeVar("T")

Progress = Callable[[int, str], None]  # (units done since the last call, current step)


@dataclass(frozen=True, slots=True)
class ScaleSize:
    """How big the scale world is. The default is the issue's: 51,040 V2 pairs (320 tokens), 5,000 V3 pools."""

    pairs: int = 51_040
    pools: int = 5_000

    def __post_init__(self) -> None:
        if self.pairs < 1 or self.pools < 0:
            raise DevnetError(f"a scale world needs at least one pair and no negative pool count, got {self}")

    @property
    def tokens(self) -> int:
        """Fewest tokens whose couples cover the pairs, and the pools at one pool per fee tier per couple."""
        couples = max(self.pairs, -(-self.pools // len(V3_FEES)))
        n = 2
        while n * (n - 1) // 2 < couples:
            n += 1
        return n

    @property
    def name(self) -> str:
        """Part of the cached world's key: another size is another world."""
        return f"scale-{self.pairs}-{self.pools}"

    @property
    def build_units(self) -> int:
        """Progress units of a build: one per token, pair and pool."""
        return self.tokens + self.pairs + self.pools


def couples(count: int) -> Iterator[tuple[int, int]]:
    """Token index couples (i, j), i < j, in a fixed order that uses the first tokens first."""
    j = 1
    made = 0
    while made < count:
        for i in range(j):
            if made == count:
                return
            yield i, j
            made += 1
        j += 1


def token_symbol(index: int) -> str:
    return f"{TOKEN_PREFIX}{index:03d}"


def sort_pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


def v2_pair_address(factory: str, token_a: str, token_b: str) -> str:
    """The pair's CREATE2 address, as UniswapV2Library.pairFor computes it."""
    t0, t1 = sort_pair(token_a, token_b)
    salt = keccak(bytes.fromhex(t0[2:]) + bytes.fromhex(t1[2:]))
    return _create2(factory, salt, V2_PAIR_INIT_HASH)


def v3_pool_address(factory: str, token_a: str, token_b: str, fee: int) -> str:
    """The pool's CREATE2 address, as PoolAddress.computeAddress computes it."""
    t0, t1 = sort_pair(token_a, token_b)
    salt = keccak(encode(["address", "address", "uint24"], [t0, t1, fee]))
    return _create2(factory, salt, V3_POOL_INIT_HASH)


def _create2(deployer: str, salt: bytes, init_hash: bytes) -> str:
    return Web3.to_checksum_address(keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt + init_hash)[12:])


@dataclass(frozen=True, slots=True)
class PairSeed:
    address: str
    token_a: str
    token_b: str
    amount_a: int
    amount_b: int


@dataclass(frozen=True, slots=True)
class PoolSeed:
    address: str
    token0: str
    token1: str
    fee: int
    sqrt_price_x96: int
    tick_lower: int
    tick_upper: int
    liquidity: int
    amount0: int  # about what the liquidity holds of each token at the start (for sizing trades)
    amount1: int


@dataclass(frozen=True, slots=True)
class ScalePlan:
    """Every scale pair and pool with its seed, computed (not read) from the token addresses and the size."""

    tokens: tuple[str, ...]
    pairs: tuple[PairSeed, ...]
    pools: tuple[PoolSeed, ...]

    @classmethod
    def of(cls, chain: DevnetChain, size: ScaleSize, seed: int = SEED) -> ScalePlan:
        try:
            tokens = tuple(chain.tokens[token_symbol(i)] for i in range(size.tokens))
        except KeyError as missing:
            reason = f"chain {chain.chain_id} has no scale world of {size.name} (no token {missing})"
            raise DevnetError(reason) from None
        return plan(tokens, chain.contracts["UniswapV2Factory"], chain.contracts["UniswapV3Factory"], size, seed)

    @property
    def pool_addresses(self) -> tuple[str, ...]:
        return (*(p.address for p in self.pairs), *(p.address for p in self.pools))


def plan(tokens: tuple[str, ...], v2_factory: str, v3_factory: str, size: ScaleSize, seed: int = SEED) -> ScalePlan:
    """Prices from $0.01 to $1,000 per token, $1,000 to $1,000,000 per side of each pool (log-uniform)."""
    rng = random.Random(seed)
    # Micro-dollars per whole token: integer prices keep every amount exact.
    micro_usd = [int(10 ** rng.uniform(4, 9)) for _ in tokens]

    def amount(index: int, usd: int) -> int:
        return usd * 10**6 * TOKEN_UNIT // micro_usd[index]

    pairs = []
    for i, j in couples(size.pairs):
        usd = int(10 ** rng.uniform(3, 6))
        address = v2_pair_address(v2_factory, tokens[i], tokens[j])
        pairs.append(PairSeed(address, tokens[i], tokens[j], amount(i, usd), amount(j, usd)))
    pools = []
    fees = tuple(V3_FEES)
    for k, (i, j) in enumerate(couples(-(-size.pools // len(fees)))):
        for fee in fees[: size.pools - k * len(fees)]:
            usd = int(10 ** rng.uniform(3, 6))
            (t0, i0), (t1, i1) = sorted(((tokens[i], i), (tokens[j], j)), key=lambda t: int(t[0], 16))
            amount0, amount1 = amount(i0, usd), amount(i1, usd)
            spacing = V3_FEES[fee]
            pools.append(
                PoolSeed(
                    address=v3_pool_address(v3_factory, t0, t1, fee),
                    token0=t0,
                    token1=t1,
                    fee=fee,
                    # price = raw token1 per raw token0 = amount1 / amount0 (both 18 decimals)
                    sqrt_price_x96=isqrt((amount1 << 192) // amount0),
                    tick_lower=-(MAX_TICK // spacing) * spacing,
                    tick_upper=(MAX_TICK // spacing) * spacing,
                    # Full range: L = sqrt(x * y) holds about x and y at this price.
                    liquidity=isqrt(amount0 * amount1),
                    amount0=amount0,
                    amount1=amount1,
                )
            )
    return ScalePlan(tokens, tuple(pairs), tuple(pools))


def _no_progress(done: int, step: str) -> None:
    del done, step


def build_scale(rpc_url: str, chain: DevnetChain, size: ScaleSize, progress: Progress = _no_progress) -> DevnetChain:
    """Add the scale world to a deployed standard chain; the chain's registry with the scale tokens and builder."""
    owner = ACCOUNTS[0]
    rpc_batch(rpc_url, [("evm_setBlockGasLimit", [hex(BUILD_GAS_LIMIT)])])
    token_artifact = contract_artifact("DevToken")
    builder_artifact = contract_artifact(BUILDER)
    w3 = Web3()
    token_abi = w3.eth.contract(abi=token_artifact.abi)

    batch = TxBatch(rpc_url)
    batch.add(owner, None, builder_artifact.bytecode, gas=3_000_000)
    for i in range(size.tokens):
        args = encode(["string", "string", "uint8"], [f"Scale Token {i}", token_symbol(i), 18])
        batch.add(owner, None, token_artifact.bytecode + args.hex(), gas=3_000_000)
    receipts = batch.mine()
    builder = Web3.to_checksum_address(receipts[0]["contractAddress"])
    tokens = tuple(Web3.to_checksum_address(r["contractAddress"]) for r in receipts[1:])
    progress(size.tokens, "tokens")

    # Funds: the builder seeds the pools; traders trade and provide liquidity through the real routers.
    spenders = [chain.contracts[n] for n in ("UniswapV2Router02", "SwapRouter", "NonfungiblePositionManager")]
    for token in tokens:
        for holder, funds in ((builder, BUILDER_FUNDS), *((t, TRADER_FUNDS) for t in TRADERS)):
            batch.add(owner, token, token_abi.encode_abi("mint", [holder, funds]), gas=100_000)
        for trader in TRADERS:
            for spender in spenders:
                batch.add(trader, token, token_abi.encode_abi("approve", [spender, MAX_UINT256]), gas=80_000)
    batch.mine()
    progress(0, "funds")

    scale_plan = plan(tokens, chain.contracts["UniswapV2Factory"], chain.contracts["UniswapV3Factory"], size)
    builder_abi = w3.eth.contract(abi=builder_artifact.abi)
    v2_factory, v3_factory = chain.contracts["UniswapV2Factory"], chain.contracts["UniswapV3Factory"]
    for block in _chunks(list(_chunks(list(scale_plan.pairs), PAIRS_PER_TX)), TXS_PER_BLOCK):
        for chunk in block:
            data = builder_abi.encode_abi(
                "createPairs",
                [
                    v2_factory,
                    [p.token_a for p in chunk],
                    [p.token_b for p in chunk],
                    [p.amount_a for p in chunk],
                    [p.amount_b for p in chunk],
                    owner,
                ],
            )
            batch.add(owner, builder, data, gas=GAS_PER_PAIR * len(chunk))
        batch.mine()
        progress(sum(len(c) for c in block), "v2 pairs")
    for pool_block in _chunks(list(_chunks(list(scale_plan.pools), POOLS_PER_TX)), TXS_PER_BLOCK):
        for pool_chunk in pool_block:
            seeds = [
                (p.token0, p.token1, p.fee, p.sqrt_price_x96, p.tick_lower, p.tick_upper, p.liquidity)
                for p in pool_chunk
            ]
            data = builder_abi.encode_abi("createPools", [v3_factory, seeds, owner])
            batch.add(owner, builder, data, gas=GAS_PER_POOL * len(pool_chunk))
        batch.mine()
        progress(sum(len(c) for c in pool_block), "v3 pools")

    registry = dict(chain.tokens) | {token_symbol(i): token for i, token in enumerate(tokens)}
    return DevnetChain(
        chain_id=chain.chain_id,
        name=chain.name,
        rpc_url=chain.rpc_url,
        contracts=MappingProxyType(dict(chain.contracts) | {BUILDER: builder}),
        tokens=MappingProxyType(registry),
        pools=chain.pools,
    )


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
