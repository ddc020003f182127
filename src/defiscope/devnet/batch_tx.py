"""Many devnet transactions per block: one JSON-RPC batch of ``eth_sendTransaction``, then one ``evm_mine``.

Sending one transaction at a time costs a round trip and a mined block each (about 5 ms); the scale world
needs tens of thousands. Here automine is off while a batch goes in, every transaction carries its nonce
and gas (nothing is estimated against a state the earlier transactions of the batch have not changed
yet), and ``evm_mine`` puts up to `MAX_TXS_PER_BLOCK` of them in a block. Every receipt is checked.

    batch = TxBatch(rpc_url)
    batch.add(owner, token_address, data, gas=60_000)
    receipts = batch.mine()            # one block; raises DevnetError if a transaction failed
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from defiscope.devnet.errors import DevnetError

#: Block gas limit while building and simulating: a batch of thousands of pair creations fits one block.
BUILD_GAS_LIMIT: Final = 30_000_000_000
_TIMEOUT: Final = 600.0
MAX_BODY: Final = 1_500_000
#: anvil's time to take and mine a block grows faster than its transactions (measured with anvil 1.7.1:
#: 250 sends 0.5 s, 1,000 sends 2.6 s): bigger batches go in several blocks.
MAX_TXS_PER_BLOCK: Final = 200


def rpc_batch(url: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """Results of ``calls`` sent as JSON-RPC batches, in order; the first error raises.

    anvil refuses a request body over 2 MB ("Invalid request"): the calls go in batches under `MAX_BODY`.
    """
    batches: list[list[tuple[int, bytes]]] = [[]]
    size = 0
    for i, (method, params) in enumerate(calls):
        item = json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": list(params)}).encode()
        if batches[-1] and size + len(item) > MAX_BODY:
            batches.append([])
            size = 0
        batches[-1].append((i, item))
        size += len(item) + 1
    results: list[Any] = []
    for batch in batches:
        if batch:
            results += _post(url, batch, calls)
    return results


def _post(url: str, batch: list[tuple[int, bytes]], calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    body = b"[" + b",".join(item for _, item in batch) + b"]"
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
        replies = json.loads(response.read())
    if not isinstance(replies, list):
        raise DevnetError(f"batch of {len(batch)} calls to {url} answered {str(replies)[:200]}")
    by_id = {reply.get("id"): reply for reply in replies}
    results = []
    for i, _ in batch:
        reply = by_id.get(i)
        if reply is None or "error" in reply:
            raise DevnetError(f"{calls[i][0]} in a batch to {url} failed: {reply and reply.get('error')}")
        results.append(reply["result"])
    return results


@dataclass(slots=True)
class TxBatch:
    """Transactions from anvil's unlocked accounts, mined together by :meth:`mine`."""

    url: str
    _txs: list[dict[str, str]] = field(default_factory=list)
    _nonces: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._txs)

    def add(self, sender: str, to: str | None, data: str, *, gas: int, value: int = 0) -> None:
        """Queue a call (``to``) or a deployment (``to`` None) with ``data`` as 0x hex."""
        key = sender.lower()
        if key not in self._nonces:
            self._nonces[key] = int(rpc_batch(self.url, [("eth_getTransactionCount", [sender, "pending"])])[0], 16)
        tx = {"from": sender, "data": data, "gas": hex(gas), "nonce": hex(self._nonces[key]), "value": hex(value)}
        if to is not None:
            tx["to"] = to
        self._nonces[key] += 1
        self._txs.append(tx)

    def mine(self) -> list[dict[str, Any]]:
        """Send the queued transactions and mine them, `MAX_TXS_PER_BLOCK` to a block; their receipts, in order."""
        txs, self._txs = self._txs, []
        receipts: list[dict[str, Any]] = []
        for start in range(0, len(txs), MAX_TXS_PER_BLOCK):
            receipts += self._mine_block(txs[start : start + MAX_TXS_PER_BLOCK])
        return receipts

    def _mine_block(self, txs: list[dict[str, str]]) -> list[dict[str, Any]]:
        rpc_batch(self.url, [("evm_setAutomine", [False])])
        try:
            hashes = rpc_batch(self.url, [("eth_sendTransaction", [tx]) for tx in txs])
            rpc_batch(self.url, [("evm_mine", [])])
        finally:
            rpc_batch(self.url, [("evm_setAutomine", [True])])
        # One call for the block's receipts: anvil answers each eth_getTransactionReceipt in time linear in
        # the block's transactions (measured: 1,000 of them took 1.8 s).
        (mined,) = rpc_batch(self.url, [("eth_getBlockReceipts", ["latest"])])
        by_hash = {r["transactionHash"]: r for r in mined or []}
        receipts = [by_hash.get(h) for h in hashes]
        failed = [h for h, r in zip(hashes, receipts, strict=True) if r is None or r.get("status") != "0x1"]
        if failed:
            missing = sum(1 for r in receipts if r is None)
            raise DevnetError(
                f"{len(failed)} of {len(txs)} batched transactions failed ({missing} not mined), first {failed[0]}"
            )
        return [r for r in receipts if r is not None]
