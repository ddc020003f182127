"""Uniswap V3 pools holding stETH and an aToken, created on the devnet's real factory: a Lido report, Aave interest
and a reserve update with no swap in those pools re-value every pool holding the token. At each block the tracked
TVL equals a full re-read and each pool's ``balanceOf``, and the calls are the reorg check, the touched balances
and one index read per token whose index a log changed (interest accruing with time is computed, not read)."""

from __future__ import annotations

from collections import Counter

from eth_utils import keccak

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.holdings_math import aave_balance, aave_balance_floor
from defiscope.protocols.holdings_models import BalanceModel, balance_models
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3
from tests.protocols.aave.kit import AaveKit
from tests.protocols.test_holdings import SHARES_SLOT
from tests.protocols.uniswap.kit import Pool, create_pool, send
from tests.staking.conftest import ETHER, lido  # noqa: F401  (fixture)
from tests.tvl.conftest import sender  # noqa: F401  (fixture)

BLOCK_HASH = "getBlockHash(uint256)"
STETH_INDEX = ("getTotalPooledEther()", "getTotalShares()")
RESERVE_INDEX = ("getReserveData(address)",)


class Follower:
    """Moves a tracked V3 adapter to the head and checks it there against a full re-read and ``balanceOf``."""

    def __init__(self, owner: Sender, deployment: Deployment, client: ChainClient, pools: list[Pool]) -> None:
        self.sender, self.deployment, self.client, self.pools = owner, deployment, client, pools
        self.adapter = V3Adapter(deployment, UNISWAP_V3)

    async def step(self) -> Counter[str]:
        """The calls the tracked adapter made for this block, by signature."""
        batcher = Batcher(await self.client.snapshot())
        reader = batcher.reader("tracked")
        await self.adapter.positions(reader)
        full = V3Adapter(self.deployment, UNISWAP_V3)
        await full.positions(batcher.reader("full"))
        state = self.adapter.state
        assert state is not None
        assert full.state is not None
        assert state.block == batcher.block
        assert state.listing() == full.state.listing()  # every pool, every token: the tracked TVL is exact
        for pool in self.pools:  # and, read here without defiscope, each pool's own balanceOf
            for token in (pool.token0, pool.token1):
                erc20 = self.sender.contract(contract_artifact("DevToken"), token)
                actual = erc20.functions.balanceOf(pool.address).call(block_identifier=batcher.block.number)
                assert state.amounts[(pool.address, token)] == actual, (pool, token)
        return Counter(r.call.function.signature for r in reader.records)

    def amount(self, pool: Pool, token: str) -> int:
        assert self.adapter.state is not None
        return self.adapter.state.amounts[(pool.address, token)]


def calls(*signatures: str) -> Counter[str]:
    return Counter((BLOCK_HASH, *signatures))


async def test_pools_holding_steth_and_an_a_token_follow_rebases_and_interest_without_swaps(
    sender: Sender,  # noqa: F811
    lido: LidoDevnet,  # noqa: F811
    eth_chain: DevnetChain,
    deployment: Deployment,
    client: ChainClient,
) -> None:
    kit = AaveKit.connect(eth_chain, deployment)
    steth, a_weth = lido.steth.address, deployment.contract("AaveV3AToken:WETH")
    usdc, dai = deployment.token("USDC").address, deployment.token("DAI").address
    borrower = kit.user("rebasing pools borrower")
    kit.supply(borrower, "USDC", 500_000 * 10**6)
    kit.borrow(borrower, "WETH", 50 * ETHER)  # so WETH's supply rate, and aWETH balances, grow with time
    sender.send(lido.steth.functions.submit(sender.owner), value=100 * ETHER)
    kit.supply(sender.owner, "WETH", 100 * ETHER)
    for token in (usdc, dai):
        sender.send(sender.contract(contract_artifact("DevToken"), token).functions.mint(sender.owner, 10**30))
    for token in (usdc, dai):
        erc20 = sender.contract(contract_artifact("DevToken"), token)
        sender.send(erc20.functions.approve(eth_chain.contracts["V3PoolCaller"], MAX_UINT256))
    steth_usdc = create_pool(sender, eth_chain, steth, usdc, 3000, 20 * ETHER + 3)
    steth_dai = create_pool(sender, eth_chain, steth, dai, 500, 15 * ETHER + 1)
    a_weth_usdc = create_pool(sender, eth_chain, a_weth, usdc, 3000, 40 * ETHER + 7)
    pools = [steth_usdc, steth_dai, a_weth_usdc]
    follow = Follower(sender, deployment, client, pools)

    await follow.step()  # the first snapshot: a full read, then stETH's and aWETH's raw amounts and indexes
    assert follow.adapter.balances.rebasing(steth)
    assert follow.adapter.balances.rebasing(a_weth)
    assert not follow.adapter.balances.rebasing(usdc)
    kit.advance(12)
    assert await follow.step() == calls()  # a block with no log of theirs: the reorg check alone

    # A Lido report rebases both stETH pools with no log naming them: one index read for the two. The report
    # also moves time on, and aWETH's interest is computed from the reserve state already read.
    before = {p: follow.amount(p, t) for p, t in ((steth_usdc, steth), (steth_dai, steth), (a_weth_usdc, a_weth))}
    lido.report(sender, cl_balance_delta=73_456_789_123 * 10**9)
    assert await follow.step() == calls(*STETH_INDEX)
    assert follow.amount(steth_usdc, steth) > before[steth_usdc]
    assert follow.amount(steth_dai, steth) > before[steth_dai]
    assert follow.amount(a_weth_usdc, a_weth) > before[a_weth_usdc]

    # A week of interest, with no log at all: nothing to read.
    before_interest = follow.amount(a_weth_usdc, a_weth)
    kit.advance(7 * 86_400)
    assert await follow.step() == calls()
    assert follow.amount(a_weth_usdc, a_weth) > before_interest

    # Someone else supplies WETH: the reserve's ReserveDataUpdated, so its state is read once (a new rate).
    kit.supply(kit.user("rebasing pools lender"), "WETH", 30 * ETHER)
    kit.advance(86_400)
    assert await follow.step() == calls(*RESERVE_INDEX)

    # stETH and USDC sent to one pool touch its two balances (stETH's as sharesOf), and no index.
    send(sender, steth, steth_usdc.address, ETHER)
    send(sender, usdc, steth_usdc.address, 10**9)
    assert await follow.step() == calls("sharesOf(address)", "balanceOf(address)")

    reconciled = await follow.adapter.reconcile(Batcher(await client.snapshot()).reader("reconcile"))
    assert reconciled == []

    # Shares written into one pool behind the token's back: the reconciliation reports it with its block and
    # sets it right, and the pool's raw amount is read again, so the next rebase does not bring the error back.
    shares = lido.steth.functions.sharesOf(steth_dai.address).call()
    slot = keccak(bytes(12) + bytes.fromhex(steth_dai.address[2:]) + SHARES_SLOT.to_bytes(32, "big"))
    sender.rpc("anvil_setStorageAt", [steth, "0x" + slot.hex(), "0x" + (shares + 10**15).to_bytes(32, "big").hex()])
    sender.rpc("evm_mine", [])
    reader = Batcher(await client.snapshot()).reader("reconcile")
    (mismatch,) = await follow.adapter.reconcile(reader)
    assert (mismatch.pool, mismatch.token, mismatch.block) == (steth_dai.address, steth, reader.block)
    lido.report(sender, cl_balance_delta=12_000_000_001 * 10**9)
    assert await follow.step() == calls("sharesOf(address)", *STETH_INDEX)


async def test_the_pools_revision_picks_the_rounding_and_the_devnet_refutes_the_other(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    """The devnet's Pool (@aave/core-v3 1.19) answers POOL_REVISION() 1, so its aTokens are modelled half up; the
    v3.5 floor model, on the same scaled balances and index, disagrees with ``balanceOf``. (No v3.5 Pool runs on
    the devnet: that revision 9 picks the floor is the `aave_rounds_down` doctest, not a chain read.)"""
    kit = AaveKit.connect(eth_chain, deployment)
    weth, a_weth = deployment.token("WETH").address, deployment.contract("AaveV3AToken:WETH")
    assert kit.pool.functions.POOL_REVISION().call() == 1
    borrower = kit.user("rounding borrower")
    kit.supply(borrower, "USDC", 500_000 * 10**6)
    kit.borrow(borrower, "WETH", 50 * ETHER)
    holders = [kit.user(f"rounding holder {i}") for i in range(12)]
    for i, holder in enumerate(holders):
        kit.supply(holder, "WETH", ETHER + 7_919 * i + 13)
    models = await balance_models(deployment, Batcher(await client.snapshot()).reader("models"))
    detected = models[a_weth.lower()]
    assert detected.kind == "aave_scaled"
    assert detected.combine is aave_balance
    floor = BalanceModel.aave_scaled(a_weth, kit.pool.address, weth, floor=True)
    assert floor.combine is aave_balance_floor
    a_token = kit.sender.contract(aave_artifact("protocol/tokenization/AToken"), a_weth)
    refuted = 0
    for _ in range(6):  # the index moves with time; a few blocks give many (scaled, index) pairs
        kit.advance(86_400 + 17)
        income = kit.pool.functions.getReserveNormalizedIncome(weth).call()
        for holder in holders:
            scaled, actual = (
                a_token.functions.scaledBalanceOf(holder).call(),
                a_token.functions.balanceOf(holder).call(),
            )
            assert detected.combine(scaled, (income,)) == actual
            refuted += floor.combine(scaled, (income,)) != actual
    assert refuted > 0
