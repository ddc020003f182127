"""Shared blocks (`Sender.block`) and the simulation's ticks in them: a tick is one block, a chain's block time on.

What anvil does with automine off was checked before this was built (anvil 1.7.1): reads and estimates at
"pending" see the queued transactions, in order (``--order fifo``); a queued transaction keeps its nonce and
mines after its sender's impersonation ended; one that turned invalid (short of funds) is dropped unmined.
"""

from __future__ import annotations

import itertools

import structlog
from eth_utils import keccak
from web3 import Web3

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.tx import Sender, create_address
from defiscope.devnet.world import DevnetChain

TICKS = 3


def latest(sender: Sender) -> tuple[int, int, int]:
    """The head's number, timestamp and transaction count."""
    block = sender.w3.eth.get_block("latest")
    return block["number"], block["timestamp"], len(block["transactions"])


def test_a_block_sees_its_own_transactions_and_mines_once(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    holder, receiver = seed_address("test", "shared holder"), seed_address("test", "shared receiver")
    head, _, _ = latest(sender)
    with sender.block():
        # A deployment queued: its address is known, and calls to it are estimated against the pending state.
        token = sender.deploy(contract_artifact("DevToken"), "Shared", "SHR", 18)
        sender.submit(token.functions.mint(holder, 100))
        assert token.functions.balanceOf(holder).call() == 100  # web3's reads default to the pending state
        assert sender.w3.eth.get_code(token.address, "latest") == b""  # not deployed in the latest block
        sender.ensure_balance(holder, 10**18)
        with sender.impersonating(holder):  # ended before the block is mined
            sender.submit(token.functions.transfer(receiver, 60), sender=holder)
        assert sender.w3.eth.block_number == head  # nothing mined yet
    number, _, transactions = latest(sender)
    assert (number, transactions) == (head + 1, 3)
    assert token.functions.balanceOf(receiver).call() == 60
    assert token.functions.balanceOf(holder).call() == 40
    assert sender.reverted == []
    assert sender.w3.eth.default_block == "latest"  # automine and latest reads are back
    sender.submit(token.functions.mint(holder, 1))
    assert latest(sender)[0] == head + 2


def test_send_in_a_block_mines_what_is_queued_and_answers_its_receipt(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    token = sender.deploy(contract_artifact("DevToken"), "Shared", "SHR", 18)
    head, _, _ = latest(sender)
    with sender.block():
        sender.submit(token.functions.mint(sender.owner, 5))
        receipt = sender.send(token.functions.mint(sender.owner, 7))
        assert (receipt["blockNumber"], receipt["status"], receipt["transactionIndex"]) == (head + 1, 1, 1)
        sender.submit(token.functions.mint(sender.owner, 11))
    assert latest(sender)[:1] == (head + 2,)
    assert token.functions.balanceOf(sender.owner).call() == 23


def test_a_revert_when_mined_is_logged_with_its_reason(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    holder = seed_address("test", "shared loser")
    token = sender.deploy(contract_artifact("DevToken"), "Shared", "SHR", 18)
    sender.submit(token.functions.mint(holder, 100))
    sender.ensure_balance(holder, 10**18)
    # OpenZeppelin's ERC20 keeps balances in its first slot: a cheat empties the holder's under its queued transfer.
    balance_slot = keccak(bytes(12) + bytes.fromhex(holder[2:]) + bytes(32))
    with structlog.testing.capture_logs() as logs, sender.block():
        with sender.impersonating(holder):
            sender.submit(token.functions.transfer(sender.owner, 100), sender=holder)
        sender.rpc("anvil_setStorageAt", [token.address, "0x" + balance_slot.hex(), "0x" + "00" * 32])
    (reverted,) = sender.reverted
    assert (reverted.what, reverted.sender) == ("transfer", holder)
    assert reverted.reason.startswith("custom error 0xe450d38c")  # ERC20InsufficientBalance(holder, 0, 100)
    warning = next(e for e in logs if e["event"] == "devnet.tx_reverted_in_block")
    assert (warning["log_level"], warning["tx"], warning["reason"]) == ("warning", reverted.tx_hash, reverted.reason)
    assert sender.w3.eth.get_transaction_receipt(reverted.tx_hash)["status"] == 0


def test_create_address_follows_sender_and_nonce() -> None:
    # Ethereum's own first contract creations: the addresses every CREATE-address calculator is checked against.
    deployer = "0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0"
    expected = (
        "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d",
        "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8",
        "0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91",
    )
    assert [create_address(deployer, nonce) for nonce in range(3)] == [Web3.to_checksum_address(a) for a in expected]
    assert create_address(deployer, 0x80) != create_address(deployer, 0x7F)  # the long nonce encoding


def run_ticks(chain: DevnetChain, config: SimulationConfig) -> tuple[Simulation, list[tuple[int, int, int]]]:
    """The simulation after a first tick and `TICKS` more, and the head (number, timestamp, transactions) after
    each tick, the first included."""
    sim = Simulation(chain, config)
    sim.start()
    try:
        heads = []
        for _ in range(TICKS + 1):
            sim.tick()
            heads.append(latest(sim.sender))
    finally:
        sim.stop()
    return sim, heads


def test_every_agent_tick_is_one_block_twelve_seconds_on(eth_chain: DevnetChain) -> None:
    """What keeps `serve`'s indexer up with the market: one block a tick (it indexed ~3.75 blocks/s while the
    ticks mined ~6.5/s when each transaction had its own block), on mainnet's clock."""
    sim, heads = run_ticks(eth_chain, SimulationConfig(seed=21))
    blocks = [b[0] - a[0] for a, b in itertools.pairwise(heads)]
    seconds = [b[1] - a[1] for a, b in itertools.pairwise(heads)]
    assert blocks == [1] * TICKS
    assert seconds == [12] * TICKS
    assert all(transactions >= 10 for _, _, transactions in heads)  # feeds, arbitrage, the agents' actions
    assert sim.priced_at == heads[-1][1]  # the random walk's last step is the last block's time
    assert sim.sender.reverted == []


def test_a_block_per_transaction_stays_available(eth_chain: DevnetChain) -> None:
    _, heads = run_ticks(eth_chain, SimulationConfig(seed=21, agents=(), shared_blocks=False))
    blocks = [b[0] - a[0] for a, b in itertools.pairwise(heads)]
    assert all(n >= 5 for n in blocks)  # the feed updates alone, a block each
    assert all(transactions == 1 for _, _, transactions in heads)


def test_bnb_chain_ticks_three_seconds_apart(bnb_chain: DevnetChain) -> None:
    _, heads = run_ticks(bnb_chain, SimulationConfig(seed=4))
    assert [b[:2] for b in heads[1:]] == [(heads[0][0] + i, heads[0][1] + 3 * i) for i in range(1, TICKS + 1)]
