"""`new_protocol` rules over pools on the devnet: pools the test creates (and funds) fire the rule with their
address, protocol, first block and TVL valued at the block's stored prices; a pool under the threshold does not,
nor do the seeded pools, older than the window (although they hold far more). A pair whose tokens leave it (its
`skim`) resolves. The backtest over the same blocks, reading the pools' holdings from the chain's historic state
with the creation cursors loaded from the store, fires and resolves at the same blocks with the same values and
evidence: in-process, over the API and from the CLI; on a node without the blocks' state it is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web3.contract import Contract

from defiscope.alerts import manage
from defiscope.alerts.backtest import MAX_POOL_BACKTEST_BLOCKS, BacktestRefused, backtest
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.pools import StoredPools, created_pools, load_discovery
from defiscope.alerts.rules import parse_rule
from defiscope.api import ApiSettings, create_app
from defiscope.api.alerts import indexer_pools
from defiscope.api.context import QuoteChain
from defiscope.chain.client import ChainClient
from defiscope.cli import app
from defiscope.cli.alerts import POOL_PROGRESS_BLOCKS
from defiscope.devnet import DevnetChain
from defiscope.devnet.anvil import ACCOUNTS, start_anvil
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.state_dump import compact_dump, unpacked_state
from defiscope.devnet.tx import Sender
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.uniswap.v2 import V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore, StoredRule
from defiscope.tvl.engine import TvlEngine
from tests.alerts.conftest import Keyed, RecordingSink
from tests.alerts.test_live import follower
from tests.service.chainkit import block, head, mine
from tests.service.test_discovery import create_funded_pool

#: Seconds between the newest seeded pool and the new one, at least: the window is half of it.
GAP = 240
#: What a pool must hold to fire (USD): 1 WETH does, a millionth of a millionth of one does not.
MIN_TVL_USD = 100


def timestamp(chain: DevnetChain, number: int) -> int:
    return int(block(chain, number)["timestamp"], 16)


def pool_rule(repo: Repository, owner: Keyed, within_seconds: int) -> StoredRule:
    days = str(Decimal(within_seconds) / 86_400)
    body: dict[str, Any] = {
        "kind": "new_protocol",
        "params": {"chain": "1", "scope": "pool", "min_tvl_usd": MIN_TVL_USD, "within_days": days},
    }
    stored, _ = manage.create(parse_rule(body), owner.stored.key_id)
    RuleStore(repo.engine).add(stored)
    return stored


def adapter_of(engine: TvlEngine, kind: type, slug: str) -> Any:
    (adapter,) = [a for a in engine.adapters if isinstance(a, kind) and a.info.slug == slug]
    return adapter


def unpriced_pair(chain: DevnetChain, factory_address: str, weth: int) -> Contract:
    """A new Uniswap V2 pair of WETH and a token nobody prices, holding 1,000 of that token and `weth` sent to it
    (no `mint`: its reserves stay 0, so `skim` gives everything back)."""
    sender = Sender.connect(chain.rpc_url)
    token = sender.deploy(contract_artifact("DevToken"), "Unpriced", "UNP", 18)
    factory = sender.contract(npm_artifact("UniswapV2Factory"), factory_address)
    sender.send(factory.functions.createPair(token.address, chain.tokens["WETH"]))
    pair = sender.contract(
        npm_artifact("UniswapV2Pair"), factory.functions.getPair(token.address, chain.tokens["WETH"]).call()
    )
    sender.send(token.functions.mint(pair.address, 1_000 * 10**18))
    wrapped = sender.contract(npm_artifact("WETH9"), chain.tokens["WETH"])
    sender.send(wrapped.functions.transfer(pair.address, weth))
    return pair


def seen(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """A webhook body without its alert id (random live, `bt_...` in a backtest)."""
    data = body["data"]
    return body["type"], data["block"], data["value"], data["previous"], data["threshold"], data["evidence"]


@pytest.fixture
def devnet_cli(devnet_home: Path, sqlite_url: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the session's devnet and the test's store."""
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", sqlite_url)
    return cli


async def test_new_pools_fire_and_resolve_live_and_the_backtest_agrees_block_for_block(
    tvl_engine: TvlEngine,
    eth_chain: DevnetChain,
    repo: Repository,
    sink: RecordingSink,
    owner: Keyed,
    devnet_cli: CliRunner,
    tmp_path: Path,
) -> None:
    await tvl_engine.snapshot()  # discovery: every pool so far
    newest = created_pools(tvl_engine, head(eth_chain))[0]
    if timestamp(eth_chain, head(eth_chain)) - timestamp(eth_chain, newest.block) < GAP:
        mine(eth_chain, 1, GAP)
    rule = pool_rule(repo, owner, (timestamp(eth_chain, head(eth_chain)) - timestamp(eth_chain, newest.block)) // 2)

    chain, _ = follower(tvl_engine, repo, sink)
    (first,), _ = await chain.step(None)
    assert sink.events() == [], "the seeded pools are older than the window"

    v3: V3Adapter = adapter_of(tvl_engine, V3Adapter, "uniswap-v3")
    under = create_funded_pool(eth_chain, v3.factory, 10**6)  # worth far less than a cent
    above = create_funded_pool(eth_chain, v3.factory, 10**18)  # created, then 1 WETH sent to it: two blocks
    await chain.step(None)
    fired = head(eth_chain)
    v2: V2Adapter = adapter_of(tvl_engine, V2Adapter, "uniswap-v2")
    pair = unpriced_pair(eth_chain, v2.factory, 10**18)
    await chain.step(None)
    paired = head(eth_chain)
    Sender.connect(eth_chain.rpc_url).send(pair.functions.skim(ACCOUNTS[0]))  # everything leaves the pair
    await chain.step(None)
    skimmed = head(eth_chain)
    last = mine(eth_chain, 1)
    await chain.step(None)

    assert sink.events() == [("alert.firing", fired), ("alert.firing", paired), ("alert.resolved", skimmed)]
    subjects = [m.evidence["subject"] for m, _, _ in sink.given]
    assert subjects == [f"uniswap-v3:{above}", f"uniswap-v2:{pair.address}", f"uniswap-v2:{pair.address}"]
    assert all(under not in subject for subject in subjects)
    data = sink.given[0][0].body()["data"]
    evidence = data["evidence"]
    (found,) = [c for c in created_pools(tvl_engine, fired) if c.address == above]
    assert (evidence["pool"], evidence["protocol"], evidence["first_block"]) == (above, "uniswap-v3", found.block)
    assert evidence["first_block_timestamp"] == timestamp(eth_chain, found.block)
    figures = StoredFigures(repo.engine).at(1, fired)
    assert figures is not None
    weth = figures.price("WETH")
    assert weth is not None
    assert Decimal(evidence["tvl_usd"]) == Decimal(data["value"]) == weth.usd  # 1 WETH, nothing of the other side
    assert {t["symbol"]: t["amount"] for t in evidence["tokens"]}["WETH"] == str(10**18)
    paired_tokens = {t["symbol"]: t for t in sink.given[1][0].evidence["tokens"]}
    assert paired_tokens["UNP"]["amount"] == str(1_000 * 10**18)
    assert paired_tokens["UNP"]["price_usd"] is None
    assert paired_tokens["UNP"]["unpriced_reason"]
    assert sink.given[1][0].value == paired_tokens["WETH"]["value_usd"]  # valued by its priced side only
    assert Decimal(sink.given[2][0].value or "nan") == 0  # skimmed: the pair holds nothing

    # The backtest: adapters of its own, their creation cursors loaded from the store, holdings read at each block.
    async with ChainClient.connect(1, (eth_chain.rpc_url,)) as client:
        pools = StoredPools.of(client, tvl_engine.deployment, adapters_for(tvl_engine.deployment))
        discovered = await load_discovery(pools, repo)
        assert discovered is not None
        assert discovered >= last
        replay = await backtest(StoredFigures(repo.engine), rule, first.block.number, last, pools=pools)
    assert [seen(b) for b in replay] == [seen(m.body()) for m, _, _ in sink.given]

    # Over the API: on a server's quote client with the discovery loaded from the store, and as in `serve`, with
    # the indexer's discovery in memory.
    for shared in (False, True):
        quoting = {1: QuoteChain(ChainClient.connect(1, (eth_chain.rpc_url,)), tvl_engine.deployment, owned=True)}
        pools_in_memory = indexer_pools({1: tvl_engine}, quoting) if shared else None
        server = create_app(ApiSettings(), repo=repo, deployments=(), quoting=quoting, pools=pools_in_memory)
        with TestClient(server) as api:
            answer = api.get(
                f"/v1/alerts/rules/{rule.id}/backtest",
                params={"from_block": first.block.number, "to_block": last},
                headers={"X-API-Key": owner.key},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["alerts"] == replay

    # From the CLI, over a range long enough for a progress bar (on stderr: stdout stays the JSON); the blocks
    # before the first are not stored, so the answer is the same.
    since = first.block.number - POOL_PROGRESS_BLOCKS
    args = ["alerts", "backtest", rule.id, "--from-block", str(since), "--to-block", str(last), "--json"]
    ran = await asyncio.to_thread(devnet_cli.invoke, app, args)
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout) == replay
    assert f"backtest {rule.id}" in ran.stderr

    # A node with the blocks but not their state (anvil reloaded from a dump keeps the head's state only, as a
    # pruned node does): the backtest is refused, saying so, instead of finding no pools.
    dump = tmp_path / "reloaded.json.gz"
    dump.write_bytes(compact_dump(eth_chain.rpc_url))
    with unpacked_state(dump) as plain:
        reloaded = await asyncio.to_thread(start_anvil, 1, load_state=plain)
    try:
        async with ChainClient.connect(1, (reloaded.rpc_url,)) as client:
            pools = StoredPools.of(client, tvl_engine.deployment, adapters_for(tvl_engine.deployment))
            await load_discovery(pools, repo)
            with pytest.raises(BacktestRefused, match=r"no state at block \d+ .*archive node"):
                await backtest(StoredFigures(repo.engine), rule, first.block.number, last, pools=pools)
    finally:
        reloaded.stop()


def test_a_pool_backtest_too_long_or_without_a_chain_is_refused_with_the_field(
    repo: Repository, owner: Keyed, cli: CliRunner, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = pool_rule(repo, owner, 3_600)
    too_long = {"from_block": 1, "to_block": MAX_POOL_BACKTEST_BLOCKS + 1}
    with TestClient(create_app(ApiSettings(), repo=repo, deployments=())) as api:
        path, headers = f"/v1/alerts/rules/{rule.id}/backtest", {"X-API-Key": owner.key}
        refused = api.get(path, params=too_long, headers=headers)
        chainless = api.get(path, params={"from_block": 1, "to_block": 10}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "to_block"
    assert f"at most {MAX_POOL_BACKTEST_BLOCKS} blocks" in refused.json()["error"]["problem"]
    assert chainless.status_code == 400
    assert chainless.json()["error"]["field"] == "rule"
    assert "defiscope alerts backtest" in chainless.json()["error"]["problem"]

    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", sqlite_url)
    args = ["alerts", "backtest", rule.id, "--from-block", "1", "--to-block", str(MAX_POOL_BACKTEST_BLOCKS + 1)]
    ran = cli.invoke(app, args)
    assert ran.exit_code == 2, ran.output
    assert ran.stderr.count("\n") == 1
    assert f"at most {MAX_POOL_BACKTEST_BLOCKS} blocks" in ran.stderr
