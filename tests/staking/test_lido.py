"""Lido on the devnet: share math against the contract, submit, oracle reports, fees, queue, staleness."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.deployments import Deployment
from defiscope.devnet.lido import NODE_OPERATORS, TREASURY, LidoDevnet
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.lido.adapter import LidoAdapter
from defiscope.protocols.lido.apr import user_apr
from defiscope.protocols.lido.reports import decode_token_rebased
from defiscope.protocols.lido.shares import (
    get_pooled_eth_by_shares,
    get_shares_by_pooled_eth,
    node_operator_fee_shares,
    share_rate,
    shares_minted_as_fees,
)
from tests.prices.kit import Kit
from tests.staking.conftest import ETHER, pinned_reader
from tests.tvl.conftest import EngineFactory

AMOUNTS = st.lists(st.integers(min_value=0, max_value=10**30), min_size=40, max_size=40)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=AMOUNTS)
def test_share_conversions_equal_the_contract(eth_chain: DevnetChain, amounts: list[int]) -> None:
    steth = eth_chain.contracts["LidoStETH"]

    async def read() -> list[int]:
        client = ChainClient.connect(1, [eth_chain.rpc_url])
        try:
            reader = await pinned_reader(client)
            totals = [Call.of(steth, "getTotalPooledEther()(uint256)"), Call.of(steth, "getTotalShares()(uint256)")]
            conversions = [
                Call.of(steth, f"{fn}(uint256)(uint256)", a)
                for a in amounts
                for fn in ("getPooledEthByShares", "getSharesByPooledEth")
            ]
            return await reader.values([*totals, *conversions])  # one multicall
        finally:
            await client.aclose()

    pooled, shares, *got = asyncio.run(read())
    expected = [
        f(a, total_pooled_ether=pooled, total_shares=shares)
        for a in amounts
        for f in (get_pooled_eth_by_shares, get_shares_by_pooled_eth)
    ]
    assert got == expected


def test_seeded_lido_has_a_share_rate_of_about_1_2(lido: LidoDevnet) -> None:
    pooled = lido.steth.functions.getTotalPooledEther().call()
    shares = lido.steth.functions.getTotalShares().call()
    # The history report aims at 1.2; seven daily reports at 3 % a year (2.7 % after fee) add ~0.05 %.
    assert 1_200_000_000_000_000_000 < lido.wsteth.functions.stEthPerToken().call() < 1_201_000_000_000_000_000
    assert lido.wsteth.functions.stEthPerToken().call() == get_pooled_eth_by_shares(
        ETHER, total_pooled_ether=pooled, total_shares=shares
    )
    assert lido.wsteth.functions.tokensPerStEth().call() == get_shares_by_pooled_eth(
        ETHER, total_pooled_ether=pooled, total_shares=shares
    )


def test_submit_mints_shares_at_the_current_rate(sender: Sender, lido: LidoDevnet) -> None:
    user, referral = sender.accounts[5], sender.accounts[6]
    pooled = lido.steth.functions.getTotalPooledEther().call()
    shares = lido.steth.functions.getTotalShares().call()
    before = lido.steth.functions.sharesOf(user).call()
    amount = 3_300_000_000_000_000_007
    receipt = sender.send(lido.steth.functions.submit(referral), value=amount, sender=user)
    minted = get_shares_by_pooled_eth(amount, total_pooled_ether=pooled, total_shares=shares)
    assert lido.steth.functions.sharesOf(user).call() - before == minted
    (event,) = lido.steth.events.Submitted().process_receipt(receipt)
    assert (event.args.sender, event.args.amount, event.args.referral) == (user, amount, referral)
    assert lido.steth.functions.getTotalPooledEther().call() == pooled + amount


def test_wrap_and_unwrap_move_shares_one_to_one(sender: Sender, lido: LidoDevnet) -> None:
    user = sender.accounts[5]
    amount = 7 * ETHER + 3
    expected = lido.wsteth.functions.getWstETHByStETH(amount).call()
    shares_before = lido.steth.functions.sharesOf(lido.wsteth.address).call()
    wrapped_before = lido.wsteth.functions.balanceOf(user).call()
    sender.send(lido.wsteth.functions.wrap(amount), sender=user)
    assert lido.wsteth.functions.balanceOf(user).call() - wrapped_before == expected
    assert lido.steth.functions.sharesOf(lido.wsteth.address).call() - shares_before == expected
    back = lido.wsteth.functions.getStETHByWstETH(expected).call()
    steth_before = lido.steth.functions.balanceOf(user).call()
    sender.send(lido.wsteth.functions.unwrap(expected), sender=user)
    assert lido.steth.functions.balanceOf(user).call() - steth_before in (back - 1, back)  # stETH rounds down


def test_oracle_report_mints_the_fee_as_lido_does(sender: Sender, lido: LidoDevnet) -> None:
    pooled = lido.steth.functions.getTotalPooledEther().call()
    shares = lido.steth.functions.getTotalShares().call()
    treasury, operators = (lido.steth.functions.sharesOf(a).call() for a in (TREASURY, NODE_OPERATORS))
    rewards = 52_123_456_789 * 10**9  # 52.12 ETH, whole gwei as the oracle reports
    lido.report(sender, cl_balance_delta=rewards)

    minted = shares_minted_as_fees(rewards, pre_total_pooled_ether=pooled, pre_total_shares=shares)
    logs = sender.w3.eth.get_logs(
        {"address": lido.steth.address, "topics": [lido.steth.events.TokenRebased().topic], "fromBlock": "latest"}
    )
    report = decode_token_rebased(
        {"data": logs[-1]["data"].to_0x_hex(), "topics": [t.to_0x_hex() for t in logs[-1]["topics"]]}
    )
    assert (report.pre_total_ether, report.pre_total_shares) == (pooled, shares)
    assert (report.post_total_ether, report.post_total_shares) == (pooled + rewards, shares + minted)
    assert report.shares_minted_as_fees == minted
    assert report.time_elapsed == 86_400
    assert lido.steth.functions.sharesOf(NODE_OPERATORS).call() - operators == node_operator_fee_shares(minted)
    assert lido.steth.functions.sharesOf(TREASURY).call() - treasury == minted - node_operator_fee_shares(minted)
    # The fee is 10 % of the rewards at the new rate (to a few wei of rounding).
    fee_value = get_pooled_eth_by_shares(minted, total_pooled_ether=pooled + rewards, total_shares=shares + minted)
    assert abs(fee_value - rewards // 10) <= 2


def test_slashing_report_lowers_the_rate_and_mints_no_fee(sender: Sender, lido: LidoDevnet) -> None:
    pooled = lido.steth.functions.getTotalPooledEther().call()
    shares = lido.steth.functions.getTotalShares().call()
    lido.report(sender, cl_balance_delta=-250 * ETHER)
    logs = sender.w3.eth.get_logs(
        {"address": lido.steth.address, "topics": [lido.steth.events.TokenRebased().topic], "fromBlock": "latest"}
    )
    report = decode_token_rebased(
        {"data": logs[-1]["data"].to_0x_hex(), "topics": [t.to_0x_hex() for t in logs[-1]["topics"]]}
    )
    assert report.shares_minted_as_fees == 0
    assert (report.post_total_ether, report.post_total_shares) == (pooled - 250 * ETHER, shares)
    assert report.post_share_rate < report.pre_share_rate == share_rate(pooled, shares)
    assert user_apr(report) < 0  # a negative APR, stated, not clipped


async def test_rebase_moves_tvl_by_exactly_the_reported_change(
    sender: Sender, lido: LidoDevnet, deployment: Deployment, make_engine: EngineFactory, kit: Kit
) -> None:
    engine = make_engine(deployment, [LidoAdapter(deployment)])
    before = await engine.snapshot()
    delta = 37_000_000_001 * 10**9
    lido.report(sender, cl_balance_delta=delta)
    kit.refresh_feeds()  # the report moved time a day on: feeds get a new round, as on mainnet
    after = await engine.snapshot()
    (old,), (new,) = before.snapshots[0].tokens, after.snapshots[0].tokens
    assert new.amount - old.amount == delta
    assert new.value_usd is not None
    assert old.value_usd is not None
    assert new.value_usd - old.value_usd == Decimal(delta) / 10**18 * Decimal(3000)
    # A slashing report moves it down by exactly the loss.
    lido.report(sender, cl_balance_delta=-delta)
    kit.refresh_feeds()
    (last,) = (await engine.snapshot()).snapshots[0].tokens
    assert last.amount == old.amount


async def test_withdrawal_queue_requests_finalize_and_claim(
    sender: Sender, lido: LidoDevnet, deployment: Deployment, client: ChainClient
) -> None:
    user = sender.accounts[2]
    queued = lido.queue.functions.unfinalizedStETH().call()
    assert queued == 20 * ETHER  # the seed: three requests of 10 stETH, the first finalized
    sender.send(lido.steth.functions.approve(lido.queue.address, MAX_UINT256), sender=user)
    sender.send(lido.queue.functions.requestWithdrawals([5 * ETHER], user), sender=user)
    last = lido.queue.functions.getLastRequestId().call()
    adapter = LidoAdapter(deployment)
    await adapter.positions(await pinned_reader(client))
    assert adapter.status is not None
    assert adapter.status.unfinalized_steth == queued + 5 * ETHER

    statuses = lido.queue.functions.getWithdrawalStatus([2, 3, last]).call()
    assert [(s[0], s[2], s[4], s[5]) for s in statuses] == [
        (10 * ETHER, sender.accounts[1], False, False),
        (10 * ETHER, sender.accounts[1], False, False),
        (5 * ETHER, user, False, False),
    ]
    pooled = lido.steth.functions.getTotalPooledEther().call()
    total_shares = lido.steth.functions.getTotalShares().call()
    # A report with no CL change finalizes at the unchanged rate: each request gets min(stETH, shares x rate).
    rate = share_rate(pooled, total_shares)
    values = [min(s[0], s[1] * rate // 10**27) for s in statuses]
    locked_before = lido.queue.functions.getLockedEtherAmount().call()
    lido.report(sender, finalize_up_to=last, withdrawn=64 * ETHER)  # exits fund the queue, as on mainnet
    assert lido.queue.functions.unfinalizedStETH().call() == 0
    assert lido.queue.functions.getLockedEtherAmount().call() - locked_before == sum(values)
    assert lido.steth.functions.getTotalPooledEther().call() == pooled - sum(values)
    assert lido.steth.functions.getTotalShares().call() == total_shares - sum(s[1] for s in statuses)
    assert lido.queue.functions.getWithdrawalStatus([last]).call()[0][4:] == (True, False)

    balance = sender.w3.eth.get_balance(user)
    receipt = sender.send(lido.queue.functions.claimWithdrawal(last), sender=user)
    gas = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert sender.w3.eth.get_balance(user) - balance + gas == values[2]
    assert lido.queue.functions.getWithdrawalStatus([last]).call()[0][4:] == (True, True)


async def test_stale_or_missing_report_is_flagged(
    lido: LidoDevnet, deployment: Deployment, client: ChainClient, sender: Sender
) -> None:
    adapter = LidoAdapter(deployment)
    [fresh] = await adapter.positions(await pinned_reader(client))
    assert adapter.status is not None
    assert not adapter.status.stale
    assert "STALE" not in fresh.label
    sender.rpc("evm_increaseTime", [3 * 86_400])
    sender.rpc("evm_mine", [])
    [stale] = await adapter.positions(await pinned_reader(client))
    assert adapter.status.stale
    assert adapter.status.report_age is not None
    assert adapter.status.report_age >= 3 * 86_400
    assert "STALE: last oracle report" in stale.label
    assert stale.amount == fresh.amount
    lido.report(sender, slots=3 * 7200)
    await adapter.positions(await pinned_reader(client))
    assert not adapter.status.stale

    no_oracle = replace(
        deployment, contracts={k: v for k, v in deployment.contracts.items() if k != "LidoAccountingOracle"}
    )
    blind = LidoAdapter(no_oracle)
    [position] = await blind.positions(await pinned_reader(client))
    assert blind.status is not None
    assert blind.status.reason == "no accounting-oracle report readable"
    assert position.kind is BalanceKind.TVL
    assert position.amount == lido.steth.functions.getTotalPooledEther().call()


@pytest.mark.parametrize("symbol", ["stETH", "wstETH"])
def test_lido_issues_steth_and_wsteth_as_receipts(deployment: Deployment, symbol: str) -> None:
    assert deployment.token(symbol).address in LidoAdapter(deployment).receipt_tokens()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change_gwei=st.integers(min_value=-(10**12), max_value=10**13))
def test_any_report_rebases_exactly_as_lido(sender: Sender, lido: LidoDevnet, change_gwei: int) -> None:
    """Differential: whatever the CL change (a loss down to -1,000 ETH, a gain up to 10,000 ETH), the event's
    totals and fee shares equal the Python port of Lido._distributeFee."""
    pooled = lido.steth.functions.getTotalPooledEther().call()
    shares = lido.steth.functions.getTotalShares().call()
    delta = change_gwei * 10**9
    receipt = lido.report(sender, cl_balance_delta=delta)
    (event,) = lido.steth.events.TokenRebased().process_receipt(receipt)
    minted = shares_minted_as_fees(delta, pre_total_pooled_ether=pooled, pre_total_shares=shares)
    assert (event.args.preTotalEther, event.args.preTotalShares) == (pooled, shares)
    assert (event.args.postTotalEther, event.args.postTotalShares) == (pooled + delta, shares + minted)
    assert event.args.sharesMintedAsFees == minted


async def test_an_unreadable_withdrawal_queue_is_said_and_the_tvl_stands(
    lido: LidoDevnet, deployment: Deployment, client: ChainClient, sender: Sender
) -> None:
    adapter = LidoAdapter(deployment)
    [before] = await adapter.positions(await pinned_reader(client))
    sender.rpc("anvil_setCode", [lido.queue.address, "0x60006000fd"])  # every call to the queue reverts
    [after] = await adapter.positions(await pinned_reader(client))
    assert after.amount == before.amount == lido.steth.functions.getTotalPooledEther().call()
    assert adapter.status is not None
    assert adapter.status.unfinalized_steth is None
    assert adapter.status.queue_error is not None
    assert "unfinalizedStETH" in adapter.status.queue_error
    assert "withdrawal queue not read: " in after.label
