"""Sending the devnet's setup transactions from anvil's unlocked accounts, fast.

Example::

    sender = Sender.connect("http://127.0.0.1:8545")
    token = sender.deploy(contract_artifact("DevToken"), "USD Coin", "USDC", 6)
    sender.send(token.functions.mint(sender.owner, 10**12))

Anvil automines, so a receipt follows within milliseconds of ``eth_sendTransaction``. The
provider caches chain-id lookups (``cache_allowed_requests``), which web3 would otherwise repeat around
every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from eth_typing import ABI, ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import RPCEndpoint, TxParams, TxReceipt, Wei

from defiscope.devnet.artifacts import Artifact
from defiscope.devnet.errors import DevnetError

# Far in the future: deadlines of router and position-manager calls never bite on the devnet.
DEADLINE: Final = 2**48
MAX_UINT256: Final = 2**256 - 1


def connect(rpc_url: str) -> Web3:
    """A web3 client for a devnet node, with chain-id caching on."""
    return Web3(Web3.HTTPProvider(rpc_url, cache_allowed_requests=True, request_kwargs={"timeout": 30}))


@dataclass(slots=True)
class Sender:
    w3: Web3
    accounts: tuple[ChecksumAddress, ...]

    @classmethod
    def connect(cls, rpc_url: str) -> Sender:
        w3 = connect(rpc_url)
        return cls(w3=w3, accounts=tuple(w3.eth.accounts))

    @property
    def owner(self) -> ChecksumAddress:
        """Account 0: deploys and owns every contract of the devnet."""
        return self.accounts[0]

    def rpc(self, method: str, params: Sequence[Any]) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:
            raise DevnetError(f"{method} failed: {response['error']}")
        return response.get("result")

    def contract(self, artifact: Artifact, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=cast(ABI, artifact.abi))

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
        params: TxParams = {"from": sender or self.owner, "value": Wei(value)}
        # transact() estimates gas first, so a failing setup step raises with its revert reason here.
        tx_hash = call.transact(params)
        # Anvil answers eth_sendTransaction before a big transaction is mined: poll briefly, not at
        # web3's default 0.1 s.
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.002)
        if receipt["status"] != 1:
            raise DevnetError(f"{what} reverted (tx {tx_hash.to_0x_hex()})")
        return receipt
