"""HolderBalances on the devnet: stETH and aToken holders followed block by block through oracle reports, interest,
transfers, mints and burns; every tracked balance equals the token's own `balanceOf` exactly, and each block
costs one call per touched holder plus one index read per rebasing token whose index a log changed (interest
accruing with time is computed, not read)."""

from __future__ import annotations

import asyncio
import doctest
from dataclasses import dataclass

import pytest
from eth_utils import keccak
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.lido import NODE_OPERATORS, TREASURY, LidoDevnet
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols import holdings_math
from defiscope.protocols.holdings import HolderBalances, HoldingsError, Mismatch, Pair
from defiscope.protocols.holdings_models import TRANSFER, BalanceModel, balance_models, holdings_surface
from tests.mainnet.conformance import surface_problems, undeclared_calls
from tests.protocols.aave.kit import AaveKit
from tests.staking.conftest import ETHER, lido  # noqa: F401  (fixture)
from tests.tvl.conftest import sender  # noqa: F401  (fixture)

#: Lido.sol's `_shares` mapping sits after five address slots (owner, oracle, queue, treasury, operators).
SHARES_SLOT = 5
#: Index reads when a log changes an index: stETH (total pooled ether, total shares), one per aToken (its reserve).
LIDO_INDEX_CALLS, AAVE_INDEX_CALLS = 2, 1


@dataclass(slots=True)
class Step:
    block: int
    touched: set[Pair]
    calls: int  # what the advance's reader recorded


class Follower:
    """Advances a HolderBalances to the head and proves it against `balanceOf` at that block."""

    def __init__(self, held: HolderBalances, client: ChainClient) -> None:
        self.held, self.client = held, client

    async def step(self) -> Step:
        batcher = Batcher(await self.client.snapshot())
        reader = batcher.reader("holdings")
        touched = await self.held.advance(reader)
        assert self.held.last_calls == len(reader.records)
        assert await self.held.reconcile(batcher.reader("check")) == []
        return Step(reader.block.number, touched, len(reader.records))

    async def mismatches(self) -> tuple[int, list[Mismatch]]:
        batcher = Batcher(await self.client.snapshot())
        await self.held.advance(batcher.reader("holdings"))
        return batcher.block.number, await self.held.reconcile(batcher.reader("check"))


def pairs(token: str, *holders: str) -> set[Pair]:
    return {(h.lower(), token.lower()) for h in holders}


async def models_of(deployment: Deployment, client: ChainClient) -> dict[str, BalanceModel]:
    return await balance_models(deployment, Batcher(await client.snapshot()).reader("models"))


async def test_steth_holders_follow_reports_transfers_submits_and_burns(
    sender: Sender,  # noqa: F811
    lido: LidoDevnet,  # noqa: F811
    deployment: Deployment,
    client: ChainClient,
) -> None:
    steth, queue, wsteth = lido.steth.address, lido.queue.address, lido.wsteth.address
    a, b = sender.accounts[1], sender.accounts[2]
    newcomer = Web3.to_checksum_address(keccak(text="holdings newcomer")[12:])
    holders = (a, b, newcomer, wsteth, TREASURY, NODE_OPERATORS, queue)
    held = HolderBalances(await models_of(deployment, client))
    assert held.model(steth).kind == "lido_shares"
    held.track((h, steth) for h in holders)
    follow = Follower(held, client)

    first = await follow.step()  # nothing read yet: every pair, plus the index
    assert first.calls == len(holders) + LIDO_INDEX_CALLS
    assert held.balance(a, steth) > 0
    assert held.balance(newcomer, steth) == 0

    sender.send(lido.steth.functions.transfer(newcomer, 3 * ETHER // 2 + 7), sender=a)
    step = await follow.step()
    assert step.touched == pairs(steth, a, newcomer)
    assert step.calls == 2  # a transfer moves shares between holders, not the totals: no index read
    assert held.changed == set()

    # A report rebases every holder (no log names them); only the fee's recipients are minted shares.
    before = held.balance(b, steth)
    lido.report(sender, cl_balance_delta=52_123_456_789 * 10**9)
    step = await follow.step()
    assert step.touched == pairs(steth, TREASURY, NODE_OPERATORS)
    assert step.calls == 2 + LIDO_INDEX_CALLS
    assert held.changed == {steth.lower()}
    assert held.balance(b, steth) > before

    sender.send(lido.steth.functions.submit(b), value=5 * ETHER + 3, sender=b)
    step = await follow.step()  # a mint changes both totals: the index is read
    assert step.touched == pairs(steth, b)
    assert step.calls == 1 + LIDO_INDEX_CALLS

    sender.send(lido.steth.functions.approve(wsteth, 10 * ETHER), sender=a)
    sender.send(lido.wsteth.functions.wrap(4 * ETHER + 1), sender=a)
    step = await follow.step()  # two blocks: the approval touches no balance, the wrap moves a's shares
    assert step.touched == pairs(steth, a, wsteth)
    assert step.calls == 2

    # Finalizing the queue burns its shares with SharesBurnt only (no Transfer), and a slashing report lowers all.
    last = lido.queue.functions.getLastRequestId().call()
    lido.report(sender, finalize_up_to=last, withdrawn=64 * ETHER)
    step = await follow.step()
    assert pairs(steth, queue) <= step.touched
    assert step.calls == len(step.touched) + LIDO_INDEX_CALLS
    lido.report(sender, cl_balance_delta=-250 * ETHER)
    step = await follow.step()
    assert step.touched == set()
    assert step.calls == LIDO_INDEX_CALLS


async def test_a_balance_moved_without_a_log_is_reported_with_its_block(
    sender: Sender,  # noqa: F811
    lido: LidoDevnet,  # noqa: F811
    deployment: Deployment,
    client: ChainClient,
) -> None:
    steth, holder = lido.steth.address, sender.accounts[2]
    held = HolderBalances(await models_of(deployment, client))
    held.track([(holder, steth), (sender.accounts[1], steth)])
    follow = Follower(held, client)
    await follow.step()
    shares = lido.steth.functions.sharesOf(holder).call()
    slot = keccak(bytes(12) + bytes.fromhex(holder[2:]) + SHARES_SLOT.to_bytes(32, "big"))
    assert int(sender.w3.eth.get_storage_at(steth, slot).hex(), 16) == shares  # the layout is what we think
    sender.rpc("anvil_setStorageAt", [steth, "0x" + slot.hex(), "0x" + (shares + 10**15).to_bytes(32, "big").hex()])
    sender.rpc("evm_mine", [])

    block, mismatches = await follow.mismatches()
    actual = lido.steth.functions.balanceOf(holder).call(block_identifier=block)
    tracked = held.balance(holder, steth)
    assert actual > tracked
    assert mismatches == [Mismatch(holder, Web3.to_checksum_address(steth), block, tracked, actual)]


async def test_a_token_holders_follow_interest_transfers_and_withdrawals(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    kit = AaveKit.connect(eth_chain, deployment)
    a_weth, a_usdc = deployment.contract("AaveV3AToken:WETH"), deployment.contract("AaveV3AToken:USDC")
    lender, borrower, friend = kit.user("holdings lender"), kit.user("holdings borrower"), kit.user("holdings friend")
    kit.supply(lender, "WETH", 20 * ETHER)
    kit.supply(borrower, "USDC", 200_000 * 10**6)
    kit.borrow(borrower, "WETH", 5 * ETHER)  # so WETH's supply index grows with time
    held = HolderBalances(await models_of(deployment, client))
    assert held.model(a_weth).kind == held.model(a_usdc).kind == "aave_scaled"
    held.track([(lender, a_weth), (borrower, a_weth), (friend, a_weth), (borrower, a_usdc)])
    follow = Follower(held, client)
    index_calls = 2 * AAVE_INDEX_CALLS
    assert (await follow.step()).calls == 4 + index_calls

    before = held.balance(lender, a_weth)
    kit.advance(30 * 86_400)
    step = await follow.step()
    assert step.touched == set()
    assert step.calls == 0  # interest accrues with time: computed from the reserve state, nothing read
    assert a_weth.lower() in held.changed
    assert held.balance(lender, a_weth) > before  # interest, with no log naming the lender

    a_token = kit.sender.contract(contract_artifact("DevToken"), a_weth)  # ERC-20 surface of the aToken
    kit.sender.send(a_token.functions.transfer(friend, 7 * ETHER + 11), sender=lender)
    step = await follow.step()
    assert step.touched == pairs(a_weth, lender, friend)
    assert step.calls == 2  # a transfer leaves the reserve's state alone

    kit.withdraw(friend, "WETH", 3 * ETHER)
    kit.advance(3_600)
    step = await follow.step()  # the withdrawal's ReserveDataUpdated: WETH's reserve state read once
    assert step.touched == pairs(a_weth, friend)
    assert step.calls == 1 + AAVE_INDEX_CALLS

    kit.supply(lender, "USDC", 1_000 * 10**6)  # a new aUSDC holder: not tracked; USDC's reserve state moved
    step = await follow.step()
    assert step.touched == set()
    assert step.calls == AAVE_INDEX_CALLS


async def test_ten_thousand_plain_pairs_cost_only_the_touched_reads(
    sender: Sender,  # noqa: F811
    deployment: Deployment,
    client: ChainClient,
) -> None:
    usdc, dai = deployment.token("USDC").address, deployment.token("DAI").address
    owner = sender.accounts[0]
    crowd = [Web3.to_checksum_address(keccak(text=f"holder {i}")[12:]) for i in range(5_000)]
    held = HolderBalances()  # no models: every token is plain
    held.track([(h, t) for h in crowd for t in (usdc, dai)])
    held.track([(owner, usdc)])
    assert len(held) == 10_001
    follow = Follower(held, client)
    assert (await follow.step()).calls == 10_001

    token = sender.contract(contract_artifact("DevToken"), usdc)
    sender.send(token.functions.transfer(crowd[4_321], 1_234_567))
    step = await follow.step()
    assert step.touched == pairs(usdc, owner, crowd[4_321])
    assert step.calls == 2
    assert held.balance(crowd[4_321], usdc) == 1_234_567
    step = await follow.step()  # a block without a log of theirs: nothing read at all
    assert step.calls == 0


def _log(token: str, topic0: str, *addresses: str) -> dict[str, object]:
    return {"address": token, "topics": [topic0, *("0x" + "00" * 12 + a[2:].lower() for a in addresses)]}


def test_touched_takes_indexed_addresses_of_the_models_topics_only() -> None:
    token, other = "0x" + "11" * 20, "0x" + "22" * 20
    alice, bob, carol = ("0x" + c * 20 for c in ("aa", "bb", "cc"))
    held = HolderBalances()
    held.track([(alice, token), (bob, token)])
    approval = "0x" + keccak(text="Approval(address,address,uint256)").hex()
    logs = [
        _log(token, TRANSFER, alice, carol),  # alice tracked, carol not
        _log(other, TRANSFER, bob, alice),  # another token
        _log(token, approval, bob, alice),  # not a balance-moving event
        {
            "address": bytes.fromhex(token[2:]),
            "topics": [bytes.fromhex(TRANSFER[2:]), bytes(12) + bytes.fromhex(bob[2:])],
        },
    ]
    assert held.touched(logs) == {(alice, token), (bob, token)}


async def test_unreadable_pairs_say_why_and_the_rest_stands(deployment: Deployment, client: ChainClient) -> None:
    no_code, usdc = "0x" + "ab" * 20, deployment.token("USDC").address
    holder = deployment.contract("AaveV3Pool")
    held = HolderBalances()
    held.track([(holder, no_code), (holder, usdc)])
    batcher = Batcher(await client.snapshot())
    await held.load(batcher.reader("holdings"))
    earlier = Batcher(await client.snapshot(batcher.block.number - 1)).reader("holdings")
    assert held.balance(holder, usdc) >= 0
    reason = held.reason(holder, no_code)
    assert reason is not None
    assert "balanceOf" in reason
    with pytest.raises(HoldingsError, match="balanceOf"):
        held.balance(holder, no_code)
    with pytest.raises(HoldingsError, match="not tracked"):
        held.balance(no_code, usdc)
    with pytest.raises(HoldingsError, match="cannot move back"):
        await held.refresh(earlier, ())


async def test_weth_wraps_and_unwraps_name_their_holder(
    sender: Sender,  # noqa: F811
    deployment: Deployment,
    client: ChainClient,
) -> None:
    weth = deployment.token("WETH").address
    held = HolderBalances(await models_of(deployment, client))
    assert held.model(weth).kind == "weth"
    wrapper = sender.accounts[3]
    held.track([(wrapper, weth), (sender.accounts[4], weth)])
    follow = Follower(held, client)
    await follow.step()
    contract = sender.contract(npm_artifact("WETH9"), weth)
    sender.send(contract.functions.deposit(), value=2 * ETHER + 5, sender=wrapper)  # Deposit, no Transfer
    step = await follow.step()
    assert step.touched == pairs(weth, wrapper)
    sender.send(contract.functions.withdraw(ETHER), sender=wrapper)  # Withdrawal, no Transfer
    step = await follow.step()
    assert step.touched == pairs(weth, wrapper)
    assert step.calls == 1


async def test_what_is_read_is_declared_and_real(deployment: Deployment, client: ChainClient) -> None:
    models = await models_of(deployment, client)
    kinds = {m.kind for m in models.values()}
    assert kinds == {"weth", "lido_shares", "aave_scaled"}
    uses = holdings_surface([*models.values(), BalanceModel.plain(deployment.token("USDC").address)])
    assert surface_problems(uses) == []  # every call and event exists in the real ABIs
    held = HolderBalances(models)
    held.track((deployment.contract("AaveV3Pool"), token) for token in models)
    batcher = Batcher(await client.snapshot())
    reader = batcher.reader("holdings")
    await held.load(reader)
    await held.reconcile(reader)
    assert undeclared_calls(reader.records, uses) == []


def test_the_math_modules_examples_hold() -> None:
    result = doctest.testmod(holdings_math)
    assert result.attempted >= 4
    assert result.failed == 0


async def test_concurrent_readers_at_new_and_old_blocks_each_get_their_block(
    sender: Sender,  # noqa: F811
    lido: LidoDevnet,  # noqa: F811
    deployment: Deployment,
    client: ChainClient,
) -> None:
    steth, a, b = lido.steth.address, sender.accounts[1], sender.accounts[2]
    held = HolderBalances(await models_of(deployment, client))
    await held.follow(Batcher(await client.snapshot()).reader("first"), [(a, steth)])
    old = Batcher(await client.snapshot()).reader("old")
    sender.send(lido.steth.functions.transfer(b, ETHER + 1), sender=a)
    new = Batcher(await client.snapshot()).reader("new")
    at_new, at_old = await asyncio.gather(held.follow(new, [(a, steth), (b, steth)]), held.follow(old, [(a, steth)]))
    assert at_new is held
    assert held.block == new.block.number
    assert at_old is not held  # a one-off read: the followed state stays at the newest block
    for reader, balances, holders in ((new, at_new, (a, b)), (old, at_old, (a,))):
        for holder in holders:
            expected = lido.steth.functions.balanceOf(holder).call(block_identifier=reader.block.number)
            assert balances.balance(holder, steth) == expected


def test_index_triggers_fire_on_what_changes_an_index_only() -> None:
    steth, pool, weth, usdc, alice = ("0x" + c * 20 for c in ("11", "22", "33", "44", "aa"))
    held = HolderBalances(
        {
            steth: BalanceModel.lido_shares(steth),
            "0x" + "55" * 20: BalanceModel.aave_scaled("0x" + "55" * 20, pool, weth),
        }
    )
    held.track([(alice, steth), (alice, "0x" + "55" * 20)])
    rebased = "0x" + keccak(text="TokenRebased(uint256,uint256,uint256,uint256,uint256,uint256,uint256)").hex()
    shares = "0x" + keccak(text="TransferShares(address,address,uint256)").hex()
    updated = "0x" + keccak(text="ReserveDataUpdated(address,uint256,uint256,uint256,uint256,uint256)").hex()
    zero = "0x" + "00" * 20
    assert held.index_touched([{"address": steth, "topics": [rebased, "0x" + "00" * 32]}]) == {steth}
    assert held.index_touched([_log(steth, shares, zero, alice)]) == {steth}  # a mint
    assert held.index_touched([_log(steth, shares, alice, zero[:-2] + "01")]) == set()  # a transfer
    assert held.index_touched([_log(pool, updated, weth)]) == {"0x" + "55" * 20}
    assert held.index_touched([_log(pool, updated, usdc)]) == set()  # another reserve
    assert held.index_touched([_log(usdc, updated, weth)]) == set()  # not the aToken's Pool
    assert pool in {t.lower() for t in held.tokens()}  # the Pool's logs are asked for
