"""The real Uniswap V2 and V3 contracts from npm, deployed unchanged, and their seeded pools.

Example::

    v2 = deploy_uniswap_v2(sender, weth)               # {"UniswapV2Factory": ..., "UniswapV2Router02": ...}
    v3 = deploy_uniswap_v3(sender, weth)               # factory, position manager, router, quoter, lens
    router02 = deploy_swap_router02(sender, v2["UniswapV2Factory"], v3, weth)  # V2 + V3 in one router
    pool = seed_v3_pool(sender, v3, spec, tokens, PoolSpec("WETH", "USDC", 10_000_000, fee=500))

Pools start at the spec's USD prices. A V3 pool gets a full-range position plus narrow ones around
the price (and one on each side of it), so swaps cross many initialized ticks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt
from typing import Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.spec import ChainSpec, PoolSpec, TokenSpec
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetPool

MIN_TICK: Final = -887272
MAX_TICK: Final = 887272
# The factory enables 500/10, 3000/60 and 10000/200; 100/1 is added as Uniswap governance did in 2021.
EXTRA_FEE_AMOUNTS: Final[Mapping[int, int]] = {100: 1}
V2_FEE: Final = 3000

# Liquidity layout of a seeded V3 pool: (lower, upper) in tick spacings from the spacing-aligned current
# tick, and the share of the pool's dollars; None stands for the full range.
V3_LAYOUT: Final[tuple[tuple[tuple[int, int] | None, Fraction], ...]] = (
    (None, Fraction(40, 100)),
    ((-2, 3), Fraction(5, 100)),
    ((-10, 10), Fraction(10, 100)),
    ((-50, 40), Fraction(15, 100)),
    ((-200, 150), Fraction(20, 100)),
    ((20, 60), Fraction(5, 100)),  # above the price: token0 only
    ((-60, -20), Fraction(5, 100)),  # below the price: token1 only
)


@dataclass(frozen=True, slots=True)
class UniswapV3:
    factory: Contract
    position_manager: Contract
    swap_router: Contract
    quoter: Contract
    tick_lens: Contract

    def registry(self) -> dict[str, ChecksumAddress]:
        return {
            "UniswapV3Factory": self.factory.address,
            "NonfungiblePositionManager": self.position_manager.address,
            "SwapRouter": self.swap_router.address,
            "QuoterV2": self.quoter.address,
            "TickLens": self.tick_lens.address,
        }


def sqrt_price_x96(token0: TokenSpec, token1: TokenSpec) -> int:
    """sqrt(price) in Q64.96, price = raw token1 per raw token0 at the tokens' USD prices.

    price = (usd0 / usd1) * 10**(decimals1 - decimals0); the root of the Q192 value is taken with
    integers, so the result is floor(sqrt(price) * 2**96) exactly.
    """
    price = token0.usd / token1.usd * Fraction(10**token1.decimals, 10**token0.decimals)
    return isqrt((price.numerator << 192) // price.denominator)


def sort_tokens(a: str, b: str) -> tuple[str, str]:
    """Uniswap's order: token0 has the lower address."""
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


def deploy_uniswap_v2(sender: Sender, weth: Contract) -> dict[str, Contract]:
    factory = sender.deploy(npm_artifact("UniswapV2Factory"), sender.owner)
    router = sender.deploy(npm_artifact("UniswapV2Router02"), factory.address, weth.address)
    return {"UniswapV2Factory": factory, "UniswapV2Router02": router}


def deploy_uniswap_v3(sender: Sender, weth: Contract) -> UniswapV3:
    factory = sender.deploy(npm_artifact("UniswapV3Factory"))
    for fee, spacing in EXTRA_FEE_AMOUNTS.items():
        sender.send(factory.functions.enableFeeAmount(fee, spacing))
    # The token descriptor only renders tokenURI; it needs library linking, so any address stands in.
    descriptor = sender.owner
    return UniswapV3(
        factory=factory,
        position_manager=sender.deploy(
            npm_artifact("NonfungiblePositionManager"), factory.address, weth.address, descriptor
        ),
        swap_router=sender.deploy(npm_artifact("SwapRouter"), factory.address, weth.address),
        quoter=sender.deploy(npm_artifact("QuoterV2"), factory.address, weth.address),
        tick_lens=sender.deploy(npm_artifact("TickLens")),
    )


def deploy_swap_router02(sender: Sender, v2_factory: Contract, v3: UniswapV3, weth: Contract) -> Contract:
    """Uniswap's SwapRouter02 (V2 and V3 hops in one ``multicall``), as deployed on mainnet.

    Its V2 side finds pairs by CREATE2 with the init-code hash of mainnet's pair, which is our pair's
    (the npm bytecode), so it reaches the devnet's pairs unchanged.
    """
    return sender.deploy(
        npm_artifact("SwapRouter02"), v2_factory.address, v3.factory.address, v3.position_manager.address, weth.address
    )


def approve_all(sender: Sender, tokens: Mapping[str, Contract], spenders: list[ChecksumAddress]) -> None:
    for token in tokens.values():
        for spender in spenders:
            sender.send(token.functions.approve(spender, MAX_UINT256))


def seed_v2_pool(
    sender: Sender,
    router: Contract,
    factory: Contract,
    spec: ChainSpec,
    tokens: Mapping[str, Contract],
    pool: PoolSpec,
) -> DevnetPool:
    a, b = spec.token(pool.token_a), spec.token(pool.token_b)
    amount_a, amount_b = a.amount_for_usd(pool.usd_per_side), b.amount_for_usd(pool.usd_per_side)
    address_a, address_b = tokens[a.symbol].address, tokens[b.symbol].address
    if a.wrapped_native or b.wrapped_native:
        # Native pairs go through addLiquidityETH, as users add them: the router wraps the coin.
        token, amount_token, amount_eth = (
            (address_b, amount_b, amount_a)
            if a.wrapped_native
            else (
                address_a,
                amount_a,
                amount_b,
            )
        )
        call = router.functions.addLiquidityETH(token, amount_token, 0, 0, sender.owner, DEADLINE)
        sender.send(call, value=amount_eth)
    else:
        call = router.functions.addLiquidity(address_a, address_b, amount_a, amount_b, 0, 0, sender.owner, DEADLINE)
        sender.send(call)
    token0, token1 = sort_tokens(address_a, address_b)
    pair = factory.functions.getPair(token0, token1).call()
    return DevnetPool(dex="uniswap-v2", address=pair, token0=token0, token1=token1, fee=V2_FEE)


def pool_tokens(spec: ChainSpec, tokens: Mapping[str, Contract], pool: PoolSpec) -> tuple[TokenSpec, TokenSpec]:
    """The pool's two token specs in the pool's order (token0 sorts first by address)."""
    token0, token1 = sort_tokens(tokens[pool.token_a].address, tokens[pool.token_b].address)
    by_address: dict[str, TokenSpec] = {tokens[t.symbol].address: t for t in spec.tokens}
    return by_address[token0], by_address[token1]


def v3_positions(
    pool: PoolSpec, spec0: TokenSpec, spec1: TokenSpec, tick: int, spacing: int
) -> list[tuple[int, int, int, int]]:
    """`V3_LAYOUT` around ``tick``: (lower tick, upper tick, token0 amount, token1 amount) of each position."""
    base = tick // spacing * spacing
    positions = []
    for offsets, share in V3_LAYOUT:
        if offsets is None:
            lower, upper = -(MAX_TICK // spacing) * spacing, (MAX_TICK // spacing) * spacing
        else:
            lower, upper = base + offsets[0] * spacing, base + offsets[1] * spacing
        usd = pool.usd_per_side * share
        positions.append((lower, upper, spec0.amount_for_usd(usd), spec1.amount_for_usd(usd)))
    return positions


def seed_v3_pool(
    sender: Sender,
    v3: UniswapV3,
    spec: ChainSpec,
    tokens: Mapping[str, Contract],
    pool: PoolSpec,
) -> DevnetPool:
    spec0, spec1 = pool_tokens(spec, tokens, pool)
    token0, token1 = tokens[spec0.symbol].address, tokens[spec1.symbol].address
    manager = v3.position_manager
    sender.send(
        manager.functions.createAndInitializePoolIfNecessary(token0, token1, pool.fee, sqrt_price_x96(spec0, spec1))
    )
    address = v3.factory.functions.getPool(token0, token1, pool.fee).call()
    pool_contract = sender.contract(npm_artifact("UniswapV3Pool"), address)
    spacing: int = v3.factory.functions.feeAmountTickSpacing(pool.fee).call()
    tick: int = pool_contract.functions.slot0().call()[1]
    for lower, upper, amount0, amount1 in v3_positions(pool, spec0, spec1, tick, spacing):
        params = (token0, token1, pool.fee, lower, upper, amount0, amount1, 0, 0, sender.owner, DEADLINE)
        sender.send(manager.functions.mint(params))
    return DevnetPool(
        dex="uniswap-v3",
        address=Web3.to_checksum_address(address),
        token0=token0,
        token1=token1,
        fee=pool.fee,
    )
