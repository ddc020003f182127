"""`defiscope volume`: real swaps on the devnet show up per pool and day, in token units, exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
import structlog
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.cli import volume as volume_cli
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.service.context import ChainTarget


@pytest.fixture
def cli(eth_chain: DevnetChain, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI reading chain 1 of the devnet by its RPC URL (pools by discovery)."""
    target = ChainTarget(1, (eth_chain.rpc_url,), replace(devnet_deployment(eth_chain), network="mainnet"))
    monkeypatch.setattr(volume_cli, "resolve_targets", lambda settings, chains: [target])
    saved = structlog.get_config()
    yield CliRunner()
    structlog.configure(**saved)


def test_volume_of_real_swaps(eth_chain: DevnetChain, cli: CliRunner) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    usdc, weth = eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    v2 = sender.contract(npm_artifact("UniswapV2Router02"), eth_chain.contracts["UniswapV2Router02"])
    v3 = sender.contract(npm_artifact("SwapRouter"), eth_chain.contracts["SwapRouter"])
    for router in (v2, v3):
        sender.send(sender.contract(contract_artifact("DevToken"), usdc).functions.approve(router.address, MAX_UINT256))
    v3_pool = next(p for p in eth_chain.pools_of("uniswap-v3") if {p.token0, p.token1} == {usdc, weth})
    start = sender.w3.eth.block_number + 1
    sender.send(v2.functions.swapExactTokensForTokens(1_234_500_000, 0, [usdc, weth], sender.owner, DEADLINE))
    sender.send(v3.functions.exactInputSingle((usdc, weth, v3_pool.fee, sender.owner, DEADLINE, 2 * 10**9, 0, 0)))

    result = cli.invoke(app, ["volume", "--from-block", str(start), "--json"])
    assert result.exit_code == 0, result.output
    rows = {(row["dex"], row["pool"]): row for row in json.loads(result.output)["days"]}
    v2_pair = next(p for p in eth_chain.pools_of("uniswap-v2") if {p.token0, p.token1} == {usdc, weth})
    assert set(rows) == {("uniswap-v2", v2_pair.address), ("uniswap-v3", v3_pool.address)}

    def amounts(row: dict[str, dict[str, str]], kind: str) -> dict[str, Decimal]:
        return {token: Decimal(amount) for token, amount in row[kind].items()}

    assert amounts(rows[("uniswap-v2", v2_pair.address)], "volume") == {"USDC": Decimal("1234.5")}
    assert amounts(rows[("uniswap-v2", v2_pair.address)], "fees") == {"USDC": Decimal("3.7035")}  # 0.3 %, exact
    assert amounts(rows[("uniswap-v3", v3_pool.address)], "volume") == {"USDC": Decimal(2000)}
    assert rows[("uniswap-v3", v3_pool.address)]["trades"] == 1

    table = cli.invoke(app, ["volume", "--from-block", str(start)])
    assert table.exit_code == 0, table.output
    assert "uniswap-v2" in table.output
    assert "1234.500000 USDC" in table.output  # the CLI's 80 columns keep amounts whole


def test_block_range_beyond_the_head_is_one_line(eth_chain: DevnetChain, cli: CliRunner) -> None:
    head = Sender.connect(eth_chain.rpc_url).w3.eth.block_number
    result = cli.invoke(app, ["volume", "--from-block", str(head + 10)])
    assert result.exit_code == 2
    assert "not within" in result.output
    assert len(result.output.strip().splitlines()) == 1
