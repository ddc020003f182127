"""EigenLayer on the devnet: strategy math against the contract, TVL, discovery of strategies and pods from
events, withdrawals with delay, operators, and the stand-ins' mainnet access control."""

from __future__ import annotations

import asyncio
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.logs import DISCARD

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.deployments import Deployment
from defiscope.devnet.agents import EigenRestakers
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.eigenlayer import (
    LST_STRATEGY_TOKENS,
    MIN_WITHDRAWAL_DELAY_BLOCKS,
    STRATEGY_BEACON,
    STRATEGY_TOKENS,
    VALIDATOR_ETH,
    ZERO,
    credit_validators,
    deploy_strategy,
    pod_of,
)
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import AdapterError, BalanceKind
from defiscope.protocols.eigenlayer import operators as operators_module
from defiscope.protocols.eigenlayer.adapter import BEACON_CHAIN_ETH_STRATEGY, EigenLayerAdapter
from defiscope.protocols.eigenlayer.operators import operator_stakes
from defiscope.protocols.eigenlayer.strategy_math import deposit_shares, shares_to_underlying, underlying_to_shares
from tests.staking.conftest import ETHER, NATIVE, deposited, eigen_contract, native, pinned_reader, strategy_of
from tests.tvl.conftest import EngineFactory

AMOUNTS = st.lists(st.integers(min_value=0, max_value=10**30), min_size=30, max_size=30)
LSTS = ("stETH", "rETH", "cbETH")
DELAY = 30


def _manager(sender: Sender, chain: DevnetChain):  # type: ignore[no-untyped-def]
    return eigen_contract(sender, chain, "EigenLayerStrategyManager", "StrategyManager")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=AMOUNTS)
def test_strategy_conversions_equal_the_contract(sender: Sender, eth_chain: DevnetChain, amounts: list[int]) -> None:
    strategies = [strategy_of(sender, eth_chain, s) for s in LSTS]
    tokens = [eth_chain.tokens[s] for s in LSTS]

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
    strategy = sender.contract(contract_artifact("StrategyBase"), strategy_of(sender, eth_chain, "rETH"))
    manager = _manager(sender, eth_chain)
    reth = sender.contract(contract_artifact("RocketTokenRETH"), eth_chain.tokens["rETH"])
    user, amount = sender.accounts[6], 12 * ETHER + 345
    total, balance = strategy.functions.totalShares().call(), reth.functions.balanceOf(strategy.address).call()
    sender.send(reth.functions.approve(manager.address, MAX_UINT256), sender=user)
    sender.send(manager.functions.depositIntoStrategy(strategy.address, reth.address, amount), sender=user)
    minted = deposit_shares(amount, total_shares=total, token_balance_after=balance + amount)
    assert manager.functions.stakerDepositShares(user, strategy.address).call() == minted
    assert manager.functions.stakerStrategyList(user, 0).call() == strategy.address
    assert strategy.functions.totalShares().call() == total + minted


async def test_tvl_is_each_strategys_underlying_plus_native_eth(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    adapter = EigenLayerAdapter(deployment)
    positions = await adapter.positions(await pinned_reader(client))
    by_token = {deployment.token_at(p.token).symbol: p for p in positions}  # type: ignore[union-attr]
    # Every whitelisted strategy was found from the events: the seed's deposits (stETH transfers keep 1 wei of
    # rounding) and the pods' validators. bEIGEN, the EIGEN strategy's token, is reported as EIGEN staking.
    expected = {symbol: deposited(symbol) for symbol in LST_STRATEGY_TOKENS} | {"stETH": deposited("stETH") - 1}
    assert {s: p.amount for s, p in by_token.items()} == expected | {"EIGEN": deposited("bEIGEN"), "WETH": NATIVE}
    holders = {by_token["EIGEN" if s == "bEIGEN" else s].holder for s in STRATEGY_TOKENS}
    assert holders == {strategy_of(sender, eth_chain, s) for s in STRATEGY_TOKENS}
    assert by_token["stETH"].receipt_of == "lido"
    assert by_token["rETH"].receipt_of is None
    assert by_token["EIGEN"].kind == BalanceKind.STAKING  # EIGEN is staking, as DefiLlama counts it
    assert {by_token[s].kind for s in by_token if s != "EIGEN"} == {BalanceKind.TVL}
    assert by_token["WETH"].label == "natively restaked ETH (EigenPods)"


async def test_a_strategy_whitelisted_later_is_found_and_a_removed_one_dropped(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    manager = _manager(sender, eth_chain)
    adapter = EigenLayerAdapter(deployment)
    before = await pinned_reader(client)
    first = {p.holder: p.amount for p in await adapter.positions(before)}
    # Governance whitelists a WETH strategy and a staker deposits; the OETH strategy is removed.
    weth = sender.contract(npm_artifact("WETH9"), eth_chain.tokens["WETH"])
    strategy = deploy_strategy(sender, manager.address, eth_chain.contracts[STRATEGY_BEACON], weth.address)
    staker, amount = sender.accounts[9], 7 * ETHER + 1
    sender.send(weth.functions.approve(manager.address, MAX_UINT256), sender=staker)
    sender.send(manager.functions.depositIntoStrategy(strategy.address, weth.address, amount), sender=staker)
    oeth = strategy_of(sender, eth_chain, "OETH")
    sender.send(manager.functions.removeStrategiesFromDepositWhitelist([oeth]))
    scanned = adapter.whitelist.scanned_to
    second = {p.holder: p.amount for p in await adapter.positions(await pinned_reader(client))}
    assert strategy.address not in first
    assert oeth in first
    assert second[strategy.address] == amount  # found on the next read, read exactly
    assert oeth not in second  # dropped: its tokens are no longer TVL
    assert {h: a for h, a in second.items() if h != strategy.address} == {h: a for h, a in first.items() if h != oeth}
    # Incremental: only the new blocks were scanned, each event kept once.
    assert adapter.whitelist.scanned_to > scanned
    assert len(adapter.whitelist.logs) == len(STRATEGY_TOKENS) + 2
    # A reader pinned before the change still sees the whitelist as it was then.
    assert {p.holder: p.amount for p in await adapter.positions(before)} == first


async def test_native_eth_is_the_pods_found_from_events(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    pods = eigen_contract(sender, eth_chain, "EigenLayerEigenPodManager", "EigenPodManager")
    adapter = EigenLayerAdapter(deployment)
    reader = await pinned_reader(client)
    assert await adapter.native_restaked(reader) == NATIVE
    owners = await adapter.pod_owners(reader)
    assert len(owners) == pods.functions.numPods().call()  # every pod, though no contract lists them
    assert all(pods.functions.hasPod(o).call() for o in owners)
    assert {r.call.args[0] for r in reader.records} == set(owners)  # the first read reads every pod owner
    # A new pod with 10 validators, 3 more for a seeded pod, and a pod that stays empty.
    newcomer, seeded, empty = sender.accounts[9], sender.accounts[5], sender.accounts[3]
    for owner in (newcomer, empty):
        sender.send(pods.functions.createPod(), sender=owner)
    for owner, validators in ((newcomer, 10), (seeded, 3)):
        credit_validators(sender, pods, owner, validators * VALIDATOR_ETH)
    later = await pinned_reader(client)
    updated = await adapter.pod_deposit_shares(later)
    assert later.records == []  # updated from the NewTotalShares logs, no pod re-read
    reread = await EigenLayerAdapter(deployment).pod_deposit_shares(await pinned_reader(client))
    assert updated == reread  # the same as every pod read afresh
    assert updated[newcomer] == pods.functions.podOwnerDepositShares(newcomer).call() == 10 * VALIDATOR_ETH
    assert updated[empty] == 0
    assert await adapter.native_restaked(later) == NATIVE + 13 * VALIDATOR_ETH
    # An older block is read as it was (the later state is not applied backwards).
    assert await adapter.native_restaked(reader) == NATIVE


async def test_simulated_native_restaking_is_followed_from_events(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    adapter = EigenLayerAdapter(deployment)
    before = await adapter.native_restaked(await pinned_reader(client))
    restakers = EigenRestakers(restakers=2, activity=1.0, native_share=1.0)
    sim, rng = Simulation(eth_chain, SimulationConfig(seed=3, trades_per_tick=0, lp_every=0, agents=())), Random(3)
    for _ in range(4):
        restakers(sim, rng)
    later = await pinned_reader(client)
    assert restakers.restaked  # pods created and credited by the agents
    assert await adapter.native_restaked(later) == before + sum(wei for _, wei in restakers.restaked)
    assert later.records == []  # new pods and their shares came from the logs
    assert set(await adapter.pod_owners(later)) >= {owner for owner, _ in restakers.restaked}


async def test_queued_withdrawal_waits_for_the_delay(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    delegation = eigen_contract(sender, eth_chain, "EigenLayerDelegationManager", "DelegationManager")
    manager = _manager(sender, eth_chain)
    strategy = strategy_of(sender, eth_chain, "cbETH")
    staker, operator = sender.accounts[2], sender.accounts[8]
    # Mainnet's delay is 100,800 blocks (seeded so); mining that many takes anvil long, so the owner shortens it
    # through the devnet-only hook.
    assert delegation.functions.minWithdrawalDelayBlocks().call() == MIN_WITHDRAWAL_DELAY_BLOCKS
    owner = delegation.functions.owner().call()  # the Operations Safe, as mainnet's owner is a multisig
    with sender.impersonating(owner, gas_money=10**18):
        sender.send(delegation.functions.setMinWithdrawalDelayBlocks(DELAY), sender=owner)
    shares = manager.functions.stakerDepositShares(staker, strategy).call()
    operator_before = delegation.functions.operatorShares(operator, strategy).call()
    receipt = sender.send(delegation.functions.queueWithdrawals([([strategy], [shares], staker)]), sender=staker)
    (queued,) = delegation.events.SlashingWithdrawalQueued().process_receipt(receipt, errors=DISCARD)
    withdrawal = queued.args.withdrawal
    assert manager.functions.stakerDepositShares(staker, strategy).call() == 0
    assert delegation.functions.operatorShares(operator, strategy).call() == operator_before - shares
    # Shares left the staker, but the tokens stay in the strategy (and in TVL) until completion.
    adapter = EigenLayerAdapter(deployment)
    tvl = {p.holder: p.amount for p in await adapter.positions(await pinned_reader(client))}
    assert tvl[strategy] == deposited("cbETH")

    fields = ("staker", "delegatedTo", "withdrawer", "nonce", "startBlock", "strategies", "scaledShares")
    complete = delegation.functions.completeQueuedWithdrawal(
        tuple(withdrawal[f] for f in fields), [eth_chain.tokens["cbETH"]], True
    )
    with pytest.raises(Exception, match="WithdrawalDelayNotElapsed"):
        sender.send(complete, sender=staker)
    # Completable only at a block strictly after startBlock + delay (the slashing release's rule; M2 allowed
    # it at startBlock + delay): with DELAY blocks mined it is one block short.
    sender.rpc("anvil_mine", [hex(DELAY)])
    with pytest.raises(Exception, match="WithdrawalDelayNotElapsed"):
        sender.send(complete, sender=staker)
    sender.rpc("anvil_mine", [hex(1)])
    cbeth = sender.contract(contract_artifact("StakedTokenV1"), eth_chain.tokens["cbETH"])
    before = cbeth.functions.balanceOf(staker).call()
    sender.send(complete, sender=staker)
    assert cbeth.functions.balanceOf(staker).call() - before == 40 * ETHER
    tvl = {p.holder: p.amount for p in await adapter.positions(await pinned_reader(client))}
    assert tvl[strategy] == deposited("cbETH") - 40 * ETHER


async def test_operators_and_delegated_stake(
    deployment: Deployment,
    client: ChainClient,
    sender: Sender,
    eth_chain: DevnetChain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stakes = {s.operator: s for s in await operator_stakes(client, deployment)}
    seven, eight = sender.accounts[7], sender.accounts[8]
    assert set(stakes) == {seven, eight}  # from OperatorRegistered(address,address)
    # Each operator holds what its delegators deposited (the seed's DEPOSITS) and its pods restaked.
    for symbol in STRATEGY_TOKENS:
        strategy = strategy_of(sender, eth_chain, symbol)
        for index, operator in ((7, seven), (8, eight)):
            # stETH: shares carry the first deposit's 1-wei rounding, so underlying is within 1 wei.
            assert deposited(symbol, index) - stakes[operator].underlying[strategy] in (0, 1), (symbol, index)
    assert stakes[seven].underlying[BEACON_CHAIN_ETH_STRATEGY] == native(7)
    assert stakes[eight].underlying[BEACON_CHAIN_ETH_STRATEGY] == native(8)
    # getOperatorsShares answers per block of operators: one operator per call gives the same rows.
    monkeypatch.setattr(operators_module, "OPERATORS_PER_CALL", 1)
    assert await operator_stakes(client, deployment) == list(stakes.values())


async def test_operators_registered_before_the_slashing_upgrade_are_found(
    deployment: Deployment, client: ChainClient, sender: Sender, eth_chain: DevnetChain
) -> None:
    # Mainnet's DelegationManager proxy logged its older operators with M2's OperatorRegistered(address,
    # (address,address,uint32)): replay one such log from the DelegationManager's address, then restore its code.
    delegation = eth_chain.contracts["EigenLayerDelegationManager"]
    code = sender.w3.eth.get_code(delegation).to_0x_hex()
    replay = contract_artifact("DelegationManagerM2Logs")
    sender.rpc("anvil_setCode", [delegation, replay.deployed_bytecode])
    legacy = sender.accounts[9]
    sender.send(sender.contract(replay, delegation).functions.operatorRegistered(legacy, (legacy, ZERO, 0)))
    sender.rpc("anvil_setCode", [delegation, code])
    stakes = {s.operator: s for s in await operator_stakes(client, deployment)}
    assert set(stakes) == {sender.accounts[7], sender.accounts[8], legacy}
    assert not any(stakes[legacy].shares.values())  # registered, nothing delegated to it here


async def test_a_strategy_with_no_shares_holds_nothing(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    manager = _manager(sender, eth_chain)
    empty = deploy_strategy(sender, manager.address, eth_chain.contracts[STRATEGY_BEACON], eth_chain.tokens["WETH"])
    adapter = EigenLayerAdapter(deployment)
    states = {s.address: s for s in await adapter.strategy_states(await pinned_reader(client))}
    assert (states[empty.address].total_shares, states[empty.address].total_underlying) == (0, 0)
    positions = await adapter.positions(await pinned_reader(client))
    assert empty.address not in {p.holder for p in positions}  # no zero position, and no error
    assert len(positions) == len(STRATEGY_TOKENS) + 1


async def test_a_whitelisted_strategy_that_cannot_be_read_fails_naming_it(
    sender: Sender, deployment: Deployment, client: ChainClient, make_engine: EngineFactory, eth_chain: DevnetChain
) -> None:
    manager = _manager(sender, eth_chain)
    stranger = Web3.to_checksum_address("0x" + "5a" * 20)  # no code
    sender.send(manager.functions.addStrategiesToDepositWhitelist([stranger]))
    with pytest.raises(AdapterError, match=f"eigenlayer: whitelisted strategy {stranger} .* cannot be read"):
        await EigenLayerAdapter(deployment).positions(await pinned_reader(client))
    result = await make_engine(deployment, [EigenLayerAdapter(deployment)]).snapshot()
    (failure,) = result.failures
    assert failure.slug == "eigenlayer"
    assert stranger in failure.reason
    with pytest.raises(AdapterError, match=f"whitelisted strategy {stranger} .* cannot be read"):
        await operator_stakes(client, deployment)


def test_standins_keep_mainnets_access_control(sender: Sender, eth_chain: DevnetChain) -> None:
    manager = _manager(sender, eth_chain)
    pods = eigen_contract(sender, eth_chain, "EigenLayerEigenPodManager", "EigenPodManager")
    delegation = eigen_contract(sender, eth_chain, "EigenLayerDelegationManager", "DelegationManager")
    someone, pod_owner = sender.accounts[9], sender.accounts[4]
    with pytest.raises(Exception, match="OnlyStrategyWhitelister"):
        sender.send(manager.functions.addStrategiesToDepositWhitelist([someone]), sender=someone)
    with pytest.raises(Exception, match="OnlyEigenPod"):
        sender.send(pods.functions.recordBeaconChainETHBalanceUpdate(pod_owner, 0, VALIDATOR_ETH), sender=someone)
    with pytest.raises(Exception, match="OnlyEigenPod"):  # the managers' owner is no pod either
        sender.send(pods.functions.recordBeaconChainETHBalanceUpdate(pod_owner, 0, VALIDATOR_ETH), sender=sender.owner)
    pod = pod_of(sender, pods, pod_owner)
    assert (pod.functions.podOwner().call(), pod.functions.eigenPodManager().call()) == (pod_owner, pods.address)
    assert pods.functions.getPod(pod_owner).call() == pod.address
    with pytest.raises(Exception, match="OnlyEigenPodOwner"):
        sender.send(pod.functions.recordVerifiedValidators(VALIDATOR_ETH), sender=someone)
    safe = eth_chain.contracts["EigenLayerOperationsSafe"]
    assert {c.functions.owner().call() for c in (manager, pods, delegation)} == {safe}
    with pytest.raises(Exception, match="EigenPodAlreadyExists"):
        sender.send(pods.functions.createPod(), sender=pod_owner)
    with pytest.raises(Exception, match="OnlyDelegationManager"):
        sender.send(manager.functions.addShares(someone, strategy_of(sender, eth_chain, "rETH"), 1), sender=someone)
    with pytest.raises(Exception, match="OnlyStrategyManagerOrEigenPodManager"):
        sender.send(delegation.functions.increaseDelegatedShares(someone, someone, 0, 1), sender=someone)
    # getPod answers for owners without a pod too (where it would be), hasPod tells them apart.
    assert pods.functions.getPod(someone).call() != "0x" + "0" * 40
    assert not pods.functions.hasPod(someone).call()
