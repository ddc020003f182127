"""EigenLayer on the devnet: strategy math against the contract, TVL, withdrawals with delay, operators."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.eigenlayer import MIN_WITHDRAWAL_DELAY_BLOCKS
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import AdapterError
from defiscope.protocols.eigenlayer.adapter import BEACON_CHAIN_ETH_STRATEGY, EigenLayerAdapter
from defiscope.protocols.eigenlayer.operators import operator_stakes
from defiscope.protocols.eigenlayer.strategy_math import deposit_shares, shares_to_underlying, underlying_to_shares
from tests.staking.conftest import ETHER, NATIVE, deposited, eigen_contract, pinned_reader
from tests.tvl.conftest import EngineFactory

AMOUNTS = st.lists(st.integers(min_value=0, max_value=10**30), min_size=30, max_size=30)
STRATEGIES = ("stETH", "rETH", "cbETH")
DELAY = 30


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=AMOUNTS)
def test_strategy_conversions_equal_the_contract(eth_chain: DevnetChain, amounts: list[int]) -> None:
    strategies = [eth_chain.contracts[f"EigenLayerStrategy:{s}"] for s in STRATEGIES]
    tokens = [eth_chain.tokens[s] for s in STRATEGIES]

    async def read() -> list[int]:
        client = ChainClient.connect(1, [eth_chain.rpc_url])
        try:
            reader = await pinned_reader(client)
            state = [
                c
                for s, t in zip(strategies, tokens, strict=True)
                for c in (Call.of(s, "totalShares()(uint256)"), Call.of(t, "balanceOf(address)(uint256)", s))
            ]
            conversions = [
                Call.of(s, f"{fn}(uint256)(uint256)", a)
                for s in strategies
                for a in amounts
                for fn in ("sharesToUnderlyingView", "underlyingToSharesView")
            ]
            return await reader.values([*state, *conversions])  # one multicall
        finally:
            await client.aclose()

    values = asyncio.run(read())
    state, got = values[:6], values[6:]
    expected = [
        f(a, total_shares=state[2 * i], token_balance=state[2 * i + 1])
        for i in range(len(strategies))
        for a in amounts
        for f in (shares_to_underlying, underlying_to_shares)
    ]
    assert got == expected


def test_deposit_mints_the_shares_the_math_says(sender: Sender, eth_chain: DevnetChain) -> None:
    strategy = eigen_contract(sender, eth_chain, "EigenLayerStrategy:rETH", "StrategyBase")
    manager = eigen_contract(sender, eth_chain, "EigenLayerStrategyManager", "StrategyManager")
    reth = sender.contract(contract_artifact("RocketTokenRETH"), eth_chain.tokens["rETH"])
    user, amount = sender.accounts[6], 12 * ETHER + 345
    total, balance = strategy.functions.totalShares().call(), reth.functions.balanceOf(strategy.address).call()
    sender.send(reth.functions.approve(manager.address, MAX_UINT256), sender=user)
    sender.send(manager.functions.depositIntoStrategy(strategy.address, reth.address, amount), sender=user)
    minted = deposit_shares(amount, total_shares=total, token_balance_after=balance + amount)
    assert manager.functions.stakerStrategyShares(user, strategy.address).call() == minted
    assert manager.functions.stakerStrategyList(user, 0).call() == strategy.address
    assert strategy.functions.totalShares().call() == total + minted


async def test_tvl_is_each_strategys_underlying_plus_native_eth(deployment: Deployment, client: ChainClient) -> None:
    positions = await EigenLayerAdapter(deployment).positions(await pinned_reader(client))
    by_token = {deployment.token_at(p.token).symbol: p for p in positions}  # type: ignore[union-attr]
    # The seed's deposits (stETH transfers keep 1 wei of rounding) and the pod's validators.
    assert {s: p.amount for s, p in by_token.items()} == {
        "stETH": deposited("stETH") - 1,
        "rETH": deposited("rETH"),
        "cbETH": deposited("cbETH"),
        "WETH": NATIVE,
    }
    assert by_token["stETH"].receipt_of == "lido"
    assert by_token["rETH"].receipt_of is None
    assert by_token["WETH"].label == "natively restaked ETH (EigenPods)"


async def test_queued_withdrawal_waits_for_the_delay(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    delegation = eigen_contract(sender, eth_chain, "EigenLayerDelegationManager", "DelegationManager")
    manager = eigen_contract(sender, eth_chain, "EigenLayerStrategyManager", "StrategyManager")
    strategy = eth_chain.contracts["EigenLayerStrategy:cbETH"]
    staker, operator = sender.accounts[2], sender.accounts[8]
    # Mainnet's delay is 50,400 blocks (seeded so); mining that many takes anvil ~30 s, so the owner shortens it.
    assert delegation.functions.minWithdrawalDelayBlocks().call() == MIN_WITHDRAWAL_DELAY_BLOCKS
    sender.send(delegation.functions.setMinWithdrawalDelayBlocks(DELAY))
    shares = manager.functions.stakerStrategyShares(staker, strategy).call()
    operator_before = delegation.functions.operatorShares(operator, strategy).call()
    receipt = sender.send(delegation.functions.queueWithdrawals([([strategy], [shares], staker)]), sender=staker)
    (queued,) = delegation.events.WithdrawalQueued().process_receipt(receipt)
    withdrawal = queued.args.withdrawal
    assert manager.functions.stakerStrategyShares(staker, strategy).call() == 0
    assert delegation.functions.operatorShares(operator, strategy).call() == operator_before - shares
    # Shares left the staker, but the tokens stay in the strategy (and in TVL) until completion.
    tvl = {p.holder: p.amount for p in await EigenLayerAdapter(deployment).positions(await pinned_reader(client))}
    assert tvl[strategy] == deposited("cbETH")

    as_tuple = (
        withdrawal["staker"],
        withdrawal["delegatedTo"],
        withdrawal["withdrawer"],
        withdrawal["nonce"],
        withdrawal["startBlock"],
        withdrawal["strategies"],
        withdrawal["shares"],
    )
    complete = delegation.functions.completeQueuedWithdrawal(as_tuple, [eth_chain.tokens["cbETH"]], 0, True)
    with pytest.raises(Exception, match="WithdrawalDelayNotElapsed"):
        sender.send(complete, sender=staker)
    sender.rpc("anvil_mine", [hex(DELAY - 1)])
    with pytest.raises(Exception, match="WithdrawalDelayNotElapsed"):  # one block short
        sender.send(complete, sender=staker)
    sender.rpc("anvil_mine", [hex(1)])
    cbeth = sender.contract(contract_artifact("StakedTokenV1"), eth_chain.tokens["cbETH"])
    before = cbeth.functions.balanceOf(staker).call()
    sender.send(complete, sender=staker)
    assert cbeth.functions.balanceOf(staker).call() - before == 40 * ETHER
    tvl = {p.holder: p.amount for p in await EigenLayerAdapter(deployment).positions(await pinned_reader(client))}
    assert tvl[strategy] == deposited("cbETH") - 40 * ETHER


async def test_operators_and_delegated_stake(
    deployment: Deployment, client: ChainClient, sender: Sender, eth_chain: DevnetChain
) -> None:
    strategies = [eth_chain.contracts[f"EigenLayerStrategy:{s}"] for s in STRATEGIES]
    stakes = {s.operator: s for s in await operator_stakes(client, deployment, strategies)}
    seven, eight = sender.accounts[7], sender.accounts[8]
    assert set(stakes) == {seven, eight}
    steth, reth, cbeth = strategies
    # Each operator holds what its delegators deposited (the seed's DEPOSITS); operator 7 also the pod.
    assert stakes[seven].underlying[reth] == deposited("rETH", 7)
    assert stakes[seven].underlying[cbeth] == deposited("cbETH", 7)
    assert stakes[seven].underlying[BEACON_CHAIN_ETH_STRATEGY] == NATIVE
    assert stakes[eight].underlying[reth] == deposited("rETH", 8)
    assert stakes[eight].underlying[cbeth] == deposited("cbETH", 8)
    assert stakes[eight].underlying[BEACON_CHAIN_ETH_STRATEGY] == 0
    # stETH: shares carry the first deposit's 1-wei rounding, so underlying is within 1 wei of the deposits.
    assert deposited("stETH", 7) - stakes[seven].underlying[steth] in (0, 1)
    assert deposited("stETH", 8) - stakes[eight].underlying[steth] in (0, 1)


async def test_a_strategy_with_no_shares_holds_nothing(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    manager = eigen_contract(sender, eth_chain, "EigenLayerStrategyManager", "StrategyManager")
    empty = sender.deploy(contract_artifact("StrategyBase"), manager.address, eth_chain.tokens["WETH"])
    sender.send(manager.functions.addStrategiesToDepositWhitelist([empty.address], [False]))
    adapter = EigenLayerAdapter(deployment, extra_strategies=[empty.address])
    reader = await pinned_reader(client)
    states = {s.address: s for s in await adapter.strategy_states(reader)}
    assert (states[empty.address].total_shares, states[empty.address].total_underlying) == (0, 0)
    positions = await adapter.positions(await pinned_reader(client))
    assert empty.address not in {p.holder for p in positions}  # no zero position, and no error
    assert len(positions) == 4


async def test_an_unknown_strategy_fails_naming_it(
    deployment: Deployment, client: ChainClient, make_engine: EngineFactory, eth_chain: DevnetChain
) -> None:
    stranger = Web3.to_checksum_address("0x" + "5a" * 20)  # no code
    usdc = eth_chain.tokens["USDC"]  # code, but not a strategy
    for address in (stranger, usdc):
        adapter = EigenLayerAdapter(deployment, extra_strategies=[address])
        with pytest.raises(AdapterError, match=f"eigenlayer: {address} is not a strategy of the StrategyManager"):
            await adapter.positions(await pinned_reader(client))
    result = await make_engine(deployment, [EigenLayerAdapter(deployment, extra_strategies=[stranger])]).snapshot()
    (failure,) = result.failures
    assert failure.slug == "eigenlayer"
    assert stranger in failure.reason
    with pytest.raises(AdapterError, match="is not a strategy"):
        await operator_stakes(client, deployment, [stranger])
