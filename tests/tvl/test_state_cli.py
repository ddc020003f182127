"""`defiscope state reconcile` against the session devnet, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from tests.protocols.uniswap.kit import balance_slot
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)
from tests.tvl.conftest import give


def test_reconcile_after_swaps_finds_nothing(cli: CliRunner, devnet_home: Path, eth_chain: DevnetChain) -> None:  # noqa: F811
    sender = Sender.connect(eth_chain.rpc_url)
    pool = eth_chain.pools_of("uniswap-v3")[0]
    give(sender, pool.token0, pool.address, 10**6)  # a donation the logs show (a Transfer to the pool)
    sender.rpc("evm_mine", [])

    result = cli.invoke(app, ["state", "reconcile", "--chain", "1", "--blocks", "3", "--json"])

    assert result.exit_code == 0, result.output
    (doc,) = json.loads(result.stdout)
    assert {"uniswap-v2", "uniswap-v3"} <= set(doc["checked"])
    assert doc["block"]["number"] == sender.w3.eth.block_number
    assert (doc["mismatches"], doc["failures"]) == ([], [])


def test_reconcile_reports_a_balance_changed_without_an_event(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    eth_chain: DevnetChain,
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    usdc = eth_chain.tokens["USDC"]
    pool = next(p for p in eth_chain.pools_of("uniswap-v3") if usdc in (p.token0, p.token1))
    erc20 = sender.w3.eth.contract(
        address=usdc,
        abi=[
            {
                "name": "balanceOf",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"type": "address"}],
                "outputs": [{"type": "uint256"}],
            }
        ],
    )
    held = erc20.functions.balanceOf(pool.address).call()
    sender.rpc("anvil_setStorageAt", [usdc, balance_slot(pool.address), "0x" + (held - 7).to_bytes(32, "big").hex()])
    # The change lands with no Transfer; anvil also shows it at the head it was made on, so the state to follow
    # is loaded one block before that.
    sender.rpc("evm_mine", [])

    result = cli.invoke(
        app, ["state", "reconcile", "--chain", "1", "--protocol", "uniswap-v3", "--blocks", "2", "--json"]
    )

    assert result.exit_code == 1, result.output
    (doc,) = json.loads(result.stdout)
    assert doc["checked"] == ["uniswap-v3"]
    assert doc["block"]["number"] == sender.w3.eth.block_number
    assert doc["mismatches"] == [
        {"protocol": "uniswap-v3", "pool": pool.address, "token": usdc, "tracked": str(held), "chain": str(held - 7)}
    ]

    text = cli.invoke(app, ["state", "reconcile", "--chain", "1", "--protocol", "uniswap-v3", "--blocks", "2"])
    assert text.exit_code == 1
    assert f"mismatch uniswap-v3 pool {pool.address} token {usdc}" in text.stdout


def test_reconcile_of_an_untracked_protocol_is_an_input_error(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["state", "reconcile", "--chain", "1", "--protocol", "aave-v3"])
    assert result.exit_code == 2
    assert "not tracked from events" in result.output
