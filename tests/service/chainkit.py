"""Driving the devnet from service tests: mine, move tokens, read blocks, and hand the devnet to a CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.anvil import ACCOUNTS, rpc
from defiscope.devnet.deployment import TREASURY_HOLDER
from defiscope.devnet.runfile import RunInfo

TRANSFER = "0xa9059cbb"  # transfer(address,uint256)


def head(chain: DevnetChain) -> int:
    return int(rpc(chain.rpc_url, "eth_blockNumber"), 16)


def block(chain: DevnetChain, number: int) -> dict[str, Any]:
    raw: dict[str, Any] = rpc(chain.rpc_url, "eth_getBlockByNumber", [hex(number), False])
    return raw


def mine(chain: DevnetChain, blocks: int, interval: int | None = None) -> int:
    """Mine empty blocks (`interval` seconds apart, if given); returns the new head."""
    rpc(chain.rpc_url, "anvil_mine", [hex(blocks)] if interval is None else [hex(blocks), hex(interval)])
    return head(chain)


def feed_treasury(chain: DevnetChain, amount: int, symbol: str = "WETH") -> int:
    """Send `amount` of a token from account 0 to the devnet treasury: one transaction, one block."""
    data = TRANSFER + TREASURY_HOLDER[2:].lower().rjust(64, "0") + hex(amount)[2:].rjust(64, "0")
    tx = rpc(chain.rpc_url, "eth_sendTransaction", [{"from": ACCOUNTS[0], "to": chain.tokens[symbol], "data": data}])
    # Anvil may answer before the automined block is in: wait for the receipt, then the head is its block.
    for _ in range(500):
        receipt = rpc(chain.rpc_url, "eth_getTransactionReceipt", [tx])
        if receipt is not None:
            assert receipt["status"] == "0x1", f"transfer of {symbol} to the treasury reverted"
            return int(receipt["blockNumber"], 16)
        time.sleep(0.002)
    raise AssertionError(f"transaction {tx} was not mined within a second")


def write_run_file(devnet: Devnet, data_dir: Path) -> Path:
    """Make the session's devnet the "running devnet" of any process using `data_dir` as DEFISCOPE_DATA_DIR."""
    info = RunInfo(owner_pid=0, detached=True, nodes=devnet.nodes, chains=devnet.chains)
    path = data_dir / "devnet" / "run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info.to_json()))
    return path
