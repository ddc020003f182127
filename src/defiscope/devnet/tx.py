"""Sending the devnet's transactions from anvil's unlocked accounts, fast, one block each or many to a block.

Example::

    sender = Sender.connect("http://127.0.0.1:8545")
    token = sender.deploy(contract_artifact("DevToken"), "USD Coin", "USDC", 6)
    sender.send(token.functions.mint(sender.owner, 10**12))
    with sender.block():                          # one block for all that is sent inside
        sender.submit(token.functions.mint(sender.owner, 1))
        sender.submit(token.functions.transfer(other, 2))   # sees the mint: estimated on the pending state

A transaction is two requests: ``eth_estimateGas`` (a revert raises web3's ``ContractLogicError`` with its
reason, before any state changes) and anvil's ``eth_sendTransactionSync``, which answers with the receipt
once mined; anvil fills the fees. web3's own ``transact()`` would add two block reads for the fees and a
receipt poll loop: four times the round trips, which the simulation's ticks (tens of transactions) and the
world's deployment pay on every transaction. The provider caches chain-id lookups
(``cache_allowed_requests``), which web3 would otherwise repeat around every request.

Inside :meth:`Sender.block` automine is off, as mainnet puts a slot's transactions in one block: each
transaction is estimated against the *pending* state (the latest block plus what was sent before it, in
order: the devnet's anvil runs with ``--order fifo``) and goes into the pool; reads through web3 default to
the pending state too, so what an agent reads sees what was sent before. Leaving the block mines it (more
blocks when the pool outgrows the block gas limit) and checks every receipt. A deployment's address is known
before it is mined (sender and nonce), so it does not close the block; :meth:`Sender.send`, which answers with a
receipt, does. A transaction that passed its estimate but reverts when mined (the block's clock or a spill into
a second block moved something) is not raised: the rest of the block is mined already, so it is logged at
warning with its reason and kept in `Sender.reverted` for the caller to report.

Native balances are set with anvil cheats on the latest state, under the queued transactions, which run on top
of it when the block is mined: :meth:`Sender.credit` and :meth:`Sender.ensure_balance` only ever raise a
balance, so they never take away what a queued transaction spends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, cast

import requests
import structlog
from eth_typing import ABI, ChecksumAddress, HexStr
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.datastructures import AttributeDict
from web3.types import RPCEndpoint, TxParams, TxReceipt, Wei

from defiscope.chain.abi import decode_revert
from defiscope.devnet.artifacts import Artifact
from defiscope.devnet.errors import DevnetError

log = structlog.get_logger(__name__)

# Far in the future: deadlines of router and position-manager calls never bite on the devnet.
DEADLINE: Final = 2**48
MAX_UINT256: Final = 2**256 - 1
#: Gas above the estimate, as web3's own `transact()` adds: a call's gas use may shift between the estimate and
#: its block (a price or an accrual moved by the transaction before it).
GAS_HEADROOM: Final = 100_000


def connect(rpc_url: str) -> Web3:
    """A web3 client for a devnet node, with chain-id caching on."""
    session = requests.Session()
    # A node on loopback needs no proxy: left on, requests reads the environment's proxies on every request.
    session.trust_env = False
    provider = Web3.HTTPProvider(rpc_url, cache_allowed_requests=True, request_kwargs={"timeout": 30}, session=session)
    w3 = Web3(provider)
    # Neither applies to a devnet's transactions (no declared chain id, no ENS names), and each runs on every call:
    # the chain-id check alone was half of a simulation tick's requests.
    for unused in ("validation", "ens_name_to_address"):
        w3.middleware_onion.remove(unused)
    return w3


@dataclass(frozen=True, slots=True)
class Queued:
    """A transaction in the open block's pool: its hash, what it does and who sent it."""

    tx_hash: str
    what: str
    sender: str
    created: str | None = None  # a deployment's address, known from sender and nonce


@dataclass(frozen=True, slots=True)
class Reverted:
    """A queued transaction that passed its estimate and reverted when mined."""

    tx_hash: str
    what: str
    sender: str
    reason: str


@dataclass(slots=True)
class OpenBlock:
    """What `Sender.block` sent and has not mined yet, and how far its receipts were looked for."""

    looked_through: int  # blocks up to this number are searched for the queued receipts
    queued: list[Queued] = field(default_factory=list)


@dataclass(slots=True)
class Sender:
    w3: Web3
    accounts: tuple[ChecksumAddress, ...]
    block_gas_limit: int
    #: Contract objects by (address, artifact name): web3 spends milliseconds digesting a large ABI each time.
    contracts: dict[tuple[str, str], tuple[Artifact, Contract]] = field(default_factory=dict)
    #: The open block of `block()`, None while every transaction is mined at once.
    open_block: OpenBlock | None = None
    #: Transactions of shared blocks that reverted when mined, oldest first (each also logged at warning).
    reverted: list[Reverted] = field(default_factory=list)

    @classmethod
    def connect(cls, rpc_url: str) -> Sender:
        w3 = connect(rpc_url)
        return cls(w3=w3, accounts=tuple(w3.eth.accounts), block_gas_limit=w3.eth.get_block("latest")["gasLimit"])

    @property
    def owner(self) -> ChecksumAddress:
        """Account 0: deploys and owns every contract of the devnet."""
        return self.accounts[0]

    def rpc(self, method: str, params: Sequence[Any]) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:
            raise DevnetError(f"{method} failed: {response['error']}")
        return response.get("result")

    @contextmanager
    def impersonating(self, address: str, *, gas_money: int | None = None) -> Iterator[None]:
        """Send as `address` within the block, its impersonation ended after: anvil lists impersonated addresses
        in eth_accounts (which tests and agents take users from), and evm_revert does not end them. A transaction
        queued in an open block mines after its impersonation ended (anvil checked its sender when it came in)."""
        self.rpc("anvil_impersonateAccount", [address])
        try:
            if gas_money is not None:
                self.ensure_balance(address, gas_money)
            yield
        finally:
            self.rpc("anvil_stopImpersonatingAccount", [address])

    def credit(self, address: str, wei: int) -> None:
        """Add ``wei`` to the native balance of ``address`` (added to the latest state: see the module docstring)."""
        balance = int(self.rpc("eth_getBalance", [address, "latest"]), 16)
        self.rpc("anvil_setBalance", [address, hex(balance + wei)])

    def ensure_balance(self, address: str, wei: int) -> None:
        """Raise the native balance of ``address`` to at least ``wei`` (gas money); a larger one is kept."""
        balance = int(self.rpc("eth_getBalance", [address, "latest"]), 16)
        if balance < wei:
            self.rpc("anvil_setBalance", [address, hex(wei)])

    def pending_timestamp(self) -> int:
        """The timestamp of the block the next transaction goes into (anvil knows its clock's next step)."""
        return int(self.w3.eth.get_block("pending")["timestamp"])

    def contract(self, artifact: Artifact, address: str) -> Contract:
        key = (address.lower(), artifact.name)
        known = self.contracts.get(key)
        if known is not None and known[0].abi is artifact.abi:
            return known[1]
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=cast(ABI, artifact.abi))
        self.contracts[key] = (artifact, contract)
        return contract

    def deploy(self, artifact: Artifact, *args: Any) -> Contract:
        """Deploy from account 0; in an open block, queued, its address known before it is mined."""
        if not artifact.is_linked:
            raise DevnetError(f"{artifact.name} needs libraries linked first: {sorted(artifact.libraries)}")
        factory = self.w3.eth.contract(abi=cast(ABI, artifact.abi), bytecode=HexBytes(artifact.bytecode))
        what = f"deploy {artifact.name}"
        if self.open_block is not None:
            address = self._queue(self.open_block, factory.constructor(*args), what, None, 0).created
        else:
            address = self._transact(factory.constructor(*args), what, None, 0)["contractAddress"]
        if address is None:
            raise DevnetError(f"{what}: receipt has no contract address")
        return self.contract(artifact, address)

    def send(self, call: ContractFunction, *, value: int = 0, sender: ChecksumAddress | None = None) -> TxReceipt:
        """Send and mine ``call``; its receipt. In an open block this mines the block so far with it."""
        if self.open_block is None:
            return self._transact(call, call.fn_name, sender, value)
        queued = self._queue(self.open_block, call, call.fn_name, sender, value)
        mined = {r["transactionHash"].to_0x_hex(): r for r in self.flush()}
        receipt = mined.get(queued.tx_hash)
        if receipt is None or receipt["status"] != 1:
            raise DevnetError(f"{call.fn_name} reverted (tx {queued.tx_hash})")
        return receipt

    def submit(self, call: ContractFunction, *, value: int = 0, sender: ChecksumAddress | None = None) -> None:
        """Send ``call`` without waiting for its receipt: queued in an open block, else mined at once."""
        if self.open_block is None:
            self._transact(call, call.fn_name, sender, value)
        else:
            self._queue(self.open_block, call, call.fn_name, sender, value)

    @contextmanager
    def block(self) -> Iterator[None]:
        """Transactions sent inside share blocks: automine off, reads and estimates on the pending state, the
        queue mined when the block is left (also when the body raised: what was queued passed its estimate).
        Nested, it joins the open block."""
        if self.open_block is not None:
            yield
            return
        self.open_block = OpenBlock(self.w3.eth.block_number)
        self.rpc("evm_setAutomine", [False])
        self.w3.eth.default_block = "pending"
        try:
            yield
        finally:
            try:
                self.flush()
            finally:
                self.open_block = None
                self.w3.eth.default_block = "latest"
                self.rpc("evm_setAutomine", [True])

    def flush(self) -> list[TxReceipt]:
        """Mine the open block's queue (a block, or more while each mines some); the receipts, in sending order.

        A transaction no block took (anvil drops one that became invalid, e.g. short of funds) is logged at warning;
        one that reverted is logged with its reason and kept in `reverted`.
        """
        block = self.open_block
        if block is None or not block.queued:
            return []
        queued, block.queued = block.queued, []
        waiting = {q.tx_hash: q for q in queued}
        mined: dict[str, TxReceipt] = {}
        self._collect(block, waiting, mined)  # a helper that mines on its own (Lido's clock) may have mined some
        while waiting:
            left = len(waiting)
            self.rpc("evm_mine", [])
            self._collect(block, waiting, mined)
            if len(waiting) == left:
                break
        for lost in waiting.values():
            self.rpc("anvil_dropTransaction", [lost.tx_hash])
            log.warning("devnet.tx_not_mined", tx=lost.tx_hash, action=lost.what, sender=lost.sender)
        for q in queued:
            receipt = mined.get(q.tx_hash)
            if receipt is not None and receipt["status"] != 1:
                self._reverted(q)
            elif receipt is not None and q.created is not None and receipt["contractAddress"] != q.created:
                raise DevnetError(f"{q.what} landed at {receipt['contractAddress']}, not at {q.created}")
        return [mined[q.tx_hash] for q in queued if q.tx_hash in mined]

    def _collect(self, block: OpenBlock, waiting: dict[str, Queued], mined: dict[str, TxReceipt]) -> None:
        """Move the receipts of the blocks mined since last looked from `waiting` into `mined`."""
        head = self.w3.eth.block_number
        for number in range(block.looked_through + 1, head + 1):
            for raw in self.rpc("eth_getBlockReceipts", [hex(number)]) or []:
                if waiting.pop(raw["transactionHash"], None) is not None:
                    mined[raw["transactionHash"]] = _receipt(raw)
        block.looked_through = head

    def _reverted(self, queued: Queued) -> None:
        try:
            trace = self.rpc("debug_traceTransaction", [queued.tx_hash, {"tracer": "callTracer"}])
            reason = decode_revert(HexBytes(trace.get("output") or "0x"))
        except DevnetError as exc:
            reason = f"unknown (trace failed: {exc})"
        reverted = Reverted(queued.tx_hash, queued.what, queued.sender, reason)
        self.reverted.append(reverted)
        log.warning("devnet.tx_reverted_in_block", tx=queued.tx_hash, action=queued.what, sender=queued.sender,
                    reason=reason)  # fmt: skip

    def _queue(
        self,
        block: OpenBlock,
        call: ContractFunction | ContractConstructor,
        what: str,
        sender: ChecksumAddress | None,
        value: int,
    ) -> Queued:
        """Estimate ``call`` on the pending state (raises with its reason) and put it in the pool."""
        params = self._params(call, sender, value)
        gas = self.w3.eth.estimate_gas(params, "pending")
        sent = {**params, "value": hex(value), "gas": hex(min(gas + GAS_HEADROOM, self.block_gas_limit))}
        origin = params["from"]
        created = None
        if "to" not in params:  # a deployment: its address follows from the nonce it is sent with
            nonce = int(self.rpc("eth_getTransactionCount", [origin, "pending"]), 16)
            sent["nonce"] = hex(nonce)
            created = create_address(str(origin), nonce)
        tx_hash = str(self.rpc("eth_sendTransaction", [sent]))
        queued = Queued(tx_hash, what, str(origin), created)
        block.queued.append(queued)
        return queued

    def _params(
        self, call: ContractFunction | ContractConstructor, sender: ChecksumAddress | None, value: int
    ) -> TxParams:
        to, data = _target(call)
        params: TxParams = {"from": sender or self.owner, "value": Wei(value), "data": data}
        if to is not None:
            params["to"] = to
        return params

    def _transact(
        self,
        call: ContractFunction | ContractConstructor,
        what: str,
        sender: ChecksumAddress | None,
        value: int,
    ) -> TxReceipt:
        params = self._params(call, sender, value)
        # Raises with the revert reason of a failing step, before anything is sent.
        gas = self.w3.eth.estimate_gas(params)
        sent = {**params, "value": hex(value), "gas": hex(min(gas + GAS_HEADROOM, self.block_gas_limit))}
        receipt = _receipt(self.rpc("eth_sendTransactionSync", [sent]))
        if receipt["status"] != 1:
            raise DevnetError(f"{what} reverted (tx {receipt['transactionHash'].to_0x_hex()})")
        return receipt


def _receipt(raw: dict[str, Any]) -> TxReceipt:
    """Formatted and attribute-accessible as web3's own receipts, so `events.X().process_receipt` works on it."""
    return cast(TxReceipt, AttributeDict.recursive(receipt_formatter(raw)))


def create_address(sender: str, nonce: int) -> ChecksumAddress:
    """The address CREATE gives a contract deployed by ``sender`` with ``nonce``: keccak(rlp([sender, nonce]))."""
    nonce_bytes = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    if nonce == 0:
        encoded_nonce = b"\x80"
    elif nonce < 0x80:
        encoded_nonce = nonce_bytes
    else:
        encoded_nonce = bytes([0x80 + len(nonce_bytes)]) + nonce_bytes
    payload = b"\x94" + bytes.fromhex(sender[2:]) + encoded_nonce  # 0x94: a 20-byte string
    return Web3.to_checksum_address(keccak(bytes([0xC0 + len(payload)]) + payload)[12:])


def _target(call: ContractFunction | ContractConstructor) -> tuple[ChecksumAddress | None, HexStr]:
    """The transaction's recipient (None: a deployment) and its calldata or init code."""
    if isinstance(call, ContractConstructor):
        return None, call.data_in_transaction
    return call.address, call._encode_transaction_data()
