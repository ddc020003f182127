"""The scale world at a small size: real factory pairs and pools as planned, a compact cache, a market that
changes exactly the pools it reports.

The full size (51,040 pairs, 5,000 pools) builds in minutes: `benchmarks/mainnet_scale.py` runs it. Here
`ScaleSize(pairs=300, pools=40)` goes through the same code, on the session's standard world (first run: seconds).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode, encode
from web3 import Web3

from defiscope.devnet import Devnet, DevnetChain, start_devnet
from defiscope.devnet.batch_tx import rpc_batch
from defiscope.devnet.cache import saved_state
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.scale import ScalePlan, ScaleSize, couples
from defiscope.devnet.scale_sim import ScaleSimulation
from defiscope.devnet.state_dump import strip_traces

from .helpers import run_in_process

SIZE = ScaleSize(pairs=300, pools=40)


@pytest.fixture(scope="module")
def scale_devnet(devnet: Devnet) -> Iterator[Devnet]:
    # Built on the session's standard world (cached by now): seconds, where a fresh chain-1 deploy takes 40 s idle.
    with start_devnet((1,), scale=SIZE, show_progress=False, base=devnet.world_dir) as running:
        yield running


@pytest.fixture
def scale_chain(scale_devnet: Devnet) -> Iterator[DevnetChain]:
    """Chain 1 of the scale world, reverted after the test."""
    chain = scale_devnet.chain(1)
    (snapshot,) = rpc_batch(chain.rpc_url, [("evm_snapshot", [])])
    yield chain
    rpc_batch(chain.rpc_url, [("evm_revert", [snapshot])])


def calls(url: str, block: int | str, queries: list[tuple[str, str, list[str], list[Any], list[str]]]) -> list[Any]:
    """eth_call results, one JSON-RPC batch: (target, function name, input types, args, output types)."""
    tag = hex(block) if isinstance(block, int) else block
    batch = []
    for target, name, types, args, _ in queries:
        data = Web3.keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, args)
        batch.append(("eth_call", [{"to": target, "data": "0x" + data.hex()}, tag]))
    answers = rpc_batch(url, batch)
    return [decode(q[4], bytes.fromhex(a[2:])) for q, a in zip(queries, answers, strict=True)]


def test_sizes_pick_the_fewest_tokens_and_a_fixed_couple_order() -> None:
    assert ScaleSize().tokens == 320  # 320 * 319 / 2 = 51,040 pairs
    assert ScaleSize(pairs=3, pools=0).tokens == 3
    assert ScaleSize(pairs=1, pools=40).tokens == 5  # 40 pools in 4 fee tiers need 10 couples
    assert list(couples(4)) == [(0, 1), (0, 2), (1, 2), (0, 3)]
    with pytest.raises(DevnetError, match="at least one pair"):
        ScaleSize(pairs=0, pools=1)


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_strip_traces_empties_every_trace_across_chunk_boundaries(chunk: int) -> None:
    transactions = [
        {"info": {"from": "0x1", "traces": [{"children": [1, [2]], "data": "0x60"}], "exit": "Return"}, "n": i}
        for i in range(3)
    ]
    dump = json.dumps({"accounts": {"0xa": {"code": "0x00"}}, "transactions": transactions}, separators=(",", ":"))
    raw = dump.encode()
    stripped = b"".join(strip_traces(raw[i : i + chunk] for i in range(0, len(raw), chunk)))
    expected = json.loads(dump)
    for tx in expected["transactions"]:
        tx["info"]["traces"] = []
    assert json.loads(stripped) == expected


def test_a_truncated_dump_is_an_error() -> None:
    with pytest.raises(DevnetError, match="truncated"):
        b"".join(strip_traces([b'{"info":{"traces":[{"a":1}']))


def test_the_scale_world_goes_on_from_the_standard_worlds_chain(scale_devnet: Devnet, devnet: Devnet) -> None:
    standard, scale = devnet.chain(1), scale_devnet.chain(1)
    assert dict(scale.contracts) | dict(standard.contracts) == dict(scale.contracts)  # every standard contract
    (first,) = rpc_batch(standard.rpc_url, [("eth_getBlockByNumber", ["0x5", False])])
    (again,) = rpc_batch(scale.rpc_url, [("eth_getBlockByNumber", ["0x5", False])])
    assert again["hash"] == first["hash"]  # the same history: loaded, not deployed again


def test_every_planned_pair_and_pool_comes_from_the_real_factories(scale_chain: DevnetChain) -> None:
    plan = ScalePlan.of(scale_chain, SIZE)
    assert len(plan.tokens) == SIZE.tokens
    assert len(plan.pairs) == SIZE.pairs
    assert len(plan.pools) == SIZE.pools
    v2, v3 = scale_chain.contracts["UniswapV2Factory"], scale_chain.contracts["UniswapV3Factory"]
    url = scale_chain.rpc_url
    pairs = calls(
        url,
        "latest",
        [(v2, "getPair", ["address", "address"], [p.token_a, p.token_b], ["address"]) for p in plan.pairs],
    )
    assert [Web3.to_checksum_address(a) for (a,) in pairs] == [p.address for p in plan.pairs]
    reserves = calls(
        url, "latest", [(p.address, "getReserves", [], [], ["uint112", "uint112", "uint32"]) for p in plan.pairs]
    )
    for pair, (r0, r1, _) in zip(plan.pairs, reserves, strict=True):
        a_first = int(pair.token_a, 16) < int(pair.token_b, 16)
        assert (r0, r1) == ((pair.amount_a, pair.amount_b) if a_first else (pair.amount_b, pair.amount_a))
    fees = (500, 3000, 10_000, 100)
    assert [p.fee for p in plan.pools[:4]] == list(fees)
    pools = calls(
        url,
        "latest",
        [
            (v3, "getPool", ["address", "address", "uint24"], [p.token0, p.token1, p.fee], ["address"])
            for p in plan.pools
        ],
    )
    assert [Web3.to_checksum_address(a) for (a,) in pools] == [p.address for p in plan.pools]
    states = calls(url, "latest", [(p.address, "liquidity", [], [], ["uint128"]) for p in plan.pools])
    prices = calls(
        url,
        "latest",
        [
            (p.address, "slot0", [], [], ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"])
            for p in plan.pools
        ],
    )
    for pool, (liquidity,), slot0 in zip(plan.pools, states, prices, strict=True):
        assert liquidity == pool.liquidity
        assert slot0[0] == pool.sqrt_price_x96


def test_the_cached_scale_world_is_packed_without_traces_and_reloads(scale_devnet: Devnet) -> None:
    path = saved_state(scale_devnet.world_dir, 1)
    assert path is not None
    assert path.name == "chain-1.json.gz"
    with gzip.open(path, "rb") as packed:
        dump = packed.read()
    assert dump.count(b'"traces":[') == dump.count(b'"traces":[]') > SIZE.pairs // 250
    first = scale_devnet.chain(1).rpc_url
    head = rpc_batch(first, [("eth_getBlockByNumber", ["latest", False])])[0]
    with start_devnet((1,), scale=SIZE, show_progress=False) as again:
        assert again.from_cache
        chain = again.chain(1)
        reloaded = rpc_batch(chain.rpc_url, [("eth_getBlockByNumber", [head["number"], False])])[0]
        # The same height and the same state (anvil regenerates the headers of a loaded dump: two loads of one
        # file give two hashes, so the hash is no test of the state).
        assert reloaded is not None
        factory = chain.contracts["UniswapV2Factory"]
        pairs = [
            calls(url, "latest", [(factory, "allPairsLength", [], [], ["uint256"])]) for url in (first, chain.rpc_url)
        ]
        assert pairs[0] == pairs[1]
        created = rpc_batch(
            chain.rpc_url,
            [
                (
                    "eth_getLogs",
                    [{"fromBlock": "0x0", "toBlock": head["number"], "address": chain.contracts["UniswapV2Factory"]}],
                )
            ],
        )[0]
        assert len(created) >= SIZE.pairs  # discovery from PairCreated logs works on the reloaded node


def test_a_market_step_changes_exactly_the_pools_it_reports(scale_chain: DevnetChain) -> None:
    plan = ScalePlan.of(scale_chain, SIZE)
    sim = ScaleSimulation(scale_chain, SIZE, seed=11)
    report = sim.step(60)
    assert sum(report.changes.values()) == 60
    assert {"v2-swap", "v3-swap"} <= set(report.changes)
    block = report.block
    count = rpc_batch(scale_chain.rpc_url, [("eth_getBlockTransactionCountByNumber", [hex(block)])])[0]
    assert int(count, 16) == 60

    def state(at: int) -> list[Any]:
        queries: list[tuple[str, str, list[str], list[Any], list[str]]] = [
            (p.address, "getReserves", [], [], ["uint112", "uint112", "uint32"]) for p in plan.pairs
        ]
        queries += [
            (t, "balanceOf", ["address"], [p.address], ["uint256"]) for p in plan.pools for t in (p.token0, p.token1)
        ]
        raw = calls(scale_chain.rpc_url, at, queries)
        v2 = [r[:2] for r in raw[: len(plan.pairs)]]
        v3 = raw[len(plan.pairs) :]
        return [*v2, *(v3[i] + v3[i + 1] for i in range(0, len(v3), 2))]

    before, after = state(block - 1), state(block)
    changed = {address for address, b, a in zip(plan.pool_addresses, before, after, strict=True) if a != b}
    assert changed == report.touched


def test_the_same_seed_makes_the_same_block(scale_chain: DevnetChain) -> None:
    (start,) = rpc_batch(scale_chain.rpc_url, [("evm_snapshot", [])])
    first = ScaleSimulation(scale_chain, SIZE, seed=5).step(30)
    rpc_batch(scale_chain.rpc_url, [("evm_revert", [start])])
    again = ScaleSimulation(scale_chain, SIZE, seed=5).step(30)
    assert (again.block, again.changes, again.touched) == (first.block, first.changes, first.touched)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--world", "moon"), "unknown world 'moon': choose standard or scale"),
        (("--scale-changes", "10"), "--scale-changes needs --world scale"),
        (("--world", "scale", "--chain", "56"), "the scale world is built on chain 1"),
    ],
)
def test_bad_world_options_are_one_line_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_in_process(tmp_path, "devnet", "up", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
