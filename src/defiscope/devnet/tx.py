"""Sending the devnet's setup transactions from anvil's unlocked accounts, fast.

Example::

    sender = Sender.connect("http://127.0.0.1:8545")
    token = sender.deploy(contract_artifact("DevToken"), "USD Coin", "USDC", 6)
    sender.send(token.functions.mint(sender.owner, 10**12))

A transaction is two requests: ``eth_estimateGas`` (a revert raises web3's ``ContractLogicError`` with its
reason, before any state changes) and anvil's ``eth_sendTransactionSync``, which answers with the receipt
once mined; anvil fills the fees. web3's own ``transact()`` would add two block reads for the fees and a
receipt poll loop: four times the round trips, which the simulation's ticks (tens of transactions) and the
world's deployment pay on every transaction. The provider caches chain-id lookups
(``cache_allowed_requests``), which web3 would otherwise repeat around every request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, cast

import requests
from eth_typing import ABI, ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.datastructures import AttributeDict
from web3.types import RPCEndpoint, TxParams, TxReceipt, Wei

from defiscope.devnet.artifacts import Artifact
from defiscope.devnet.errors import DevnetError

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


@dataclass(slots=True)
class Sender:
    w3: Web3
    accounts: tuple[ChecksumAddress, ...]
    block_gas_limit: int
    #: Contract objects by (address, artifact name): web3 spends milliseconds digesting a large ABI each time.
    contracts: dict[tuple[str, str], tuple[Artifact, Contract]] = field(default_factory=dict)

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
        in eth_accounts (which tests and agents take users from), and evm_revert does not end them."""
        self.rpc("anvil_impersonateAccount", [address])
        try:
            if gas_money is not None:
                self.rpc("anvil_setBalance", [address, hex(gas_money)])
            yield
        finally:
            self.rpc("anvil_stopImpersonatingAccount", [address])

    def contract(self, artifact: Artifact, address: str) -> Contract:
        key = (address.lower(), artifact.name)
        known = self.contracts.get(key)
        if known is not None and known[0].abi is artifact.abi:
            return known[1]
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=cast(ABI, artifact.abi))
        self.contracts[key] = (artifact, contract)
        return contract

    def deploy(self, artifact: Artifact, *args: Any) -> Contract:
        if not artifact.is_linked:
            raise DevnetError(f"{artifact.name} needs libraries linked first: {sorted(artifact.libraries)}")
        factory = self.w3.eth.contract(abi=cast(ABI, artifact.abi), bytecode=HexBytes(artifact.bytecode))
        receipt = self._transact(factory.constructor(*args), f"deploy {artifact.name}", None, 0)
        address = receipt["contractAddress"]
        if address is None:
            raise DevnetError(f"deploy {artifact.name}: receipt has no contract address")
        return self.contract(artifact, address)

    def send(self, call: ContractFunction, *, value: int = 0, sender: ChecksumAddress | None = None) -> TxReceipt:
        return self._transact(call, call.fn_name, sender, value)

    def _transact(
        self,
        call: ContractFunction | ContractConstructor,
        what: str,
        sender: ChecksumAddress | None,
        value: int,
    ) -> TxReceipt:
        to, data = _target(call)
        params: TxParams = {"from": sender or self.owner, "value": Wei(value), "data": data}
        if to is not None:
            params["to"] = to
        # Raises with the revert reason of a failing step, before anything is sent.
        gas = self.w3.eth.estimate_gas(params)
        sent = {**params, "value": hex(value), "gas": hex(min(gas + GAS_HEADROOM, self.block_gas_limit))}
        # Formatted and attribute-accessible as web3's own receipts, so `events.X().process_receipt` works on it.
        raw = self.rpc("eth_sendTransactionSync", [sent])
        receipt = cast(TxReceipt, AttributeDict.recursive(receipt_formatter(raw)))
        if receipt["status"] != 1:
            raise DevnetError(f"{what} reverted (tx {receipt['transactionHash'].to_0x_hex()})")
        return receipt


def _target(call: ContractFunction | ContractConstructor) -> tuple[ChecksumAddress | None, HexStr]:
    """The transaction's recipient (None: a deployment) and its calldata or init code."""
    if isinstance(call, ContractConstructor):
        return None, call.data_in_transaction
    return call.address, call._encode_transaction_data()
