"""Every stored provenance call carries the block it was pinned to: the snapshot's, or the older block a
`Reader.at` read asked (revision 0013); rows stored before 0013 take their snapshot's block (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from web3 import Web3
from web3.types import RPCEndpoint

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import CallRecord
from defiscope.store import Repository, create_engine, migrate
from defiscope.store.models import ProvenanceCall
from defiscope.tvl.explain import explain
from tests.store.storekit import block, make_snapshot

BALANCE_OF = "balanceOf(address)(uint256)"


def stored_blocks(repo: Repository) -> list[int]:
    with Session(repo.engine) as session:
        return list(
            session.scalars(
                select(ProvenanceCall.block_number).order_by(ProvenanceCall.snapshot_id, ProvenanceCall.ordinal)
            )
        )


async def test_each_call_is_stored_with_the_block_it_was_read_at(
    client: ChainClient, eth_chain: DevnetChain, tmp_path: Path
) -> None:
    chain = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    for _ in range(2):  # two blocks after the older one
        chain.provider.make_request(RPCEndpoint("evm_mine"), [])
    reader = Batcher(await client.snapshot()).reader("test")
    older = await reader.header(reader.block.number - 2)
    weth, usdc = eth_chain.tokens["WETH"], eth_chain.tokens["USDC"]
    pool = eth_chain.contracts["UniswapV2Factory"]
    asked = [Call.of(weth, BALANCE_OF, pool), Call.of(usdc, BALANCE_OF, pool)]
    await asyncio.gather(reader.call_many(asked), reader.at(older).call(asked[0]))
    calls = tuple(CallRecord.of(r) for r in reader.records)
    snapshot = replace(make_snapshot("uniswap-v2", reader.block), calls=calls)

    repo = Repository.open(f"sqlite:///{tmp_path / 'calls.db'}")
    try:
        repo.save_snapshot(snapshot)
        now, then = reader.block.number, older.number
        # The reads were gathered: the calls are recorded in the order their answers came, which either may win.
        stored = stored_blocks(repo)
        assert sorted(stored, reverse=True) == [now, now, then]
        assert repo.snapshot_at("uniswap-v2", 1, now) == snapshot  # rebuilt exactly: own-block calls say None
        explained = explain(snapshot)["calls"]
        assert [c["block"] for c in explained] == stored  # in the snapshot's order
        assert [c["target"].lower() for c in explained if c["block"] == then] == [weth.lower()]  # the older read
    finally:
        repo.close()


def test_0013_gives_calls_stored_before_it_their_snapshot_block(db_url: str) -> None:
    engine = create_engine(db_url)
    config = Config()
    config.set_main_option("script_location", "defiscope.store:migrations")
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0012_alert_outbox")
        with engine.begin() as conn:  # two snapshots' calls as 0012 stored them: no block column
            for number in (7, 9):
                ref = block(number)
                conn.execute(
                    text("INSERT INTO blocks (chain_id, number, hash, timestamp) VALUES (1, :n, :h, :t)"),
                    {"n": number, "h": ref.hash, "t": ref.timestamp},
                )
                snapshot_id = conn.execute(
                    text(
                        "INSERT INTO tvl_snapshots (slug, chain_id, block_number, block_hash, block_timestamp, "
                        "tvl_usd, borrowed_usd, staking_usd, pool2_usd, unpriced_count) "
                        "VALUES ('demo', 1, :n, :h, :t, '0', '0', '0', '0', 0) RETURNING id"
                    ),
                    {"n": number, "h": ref.hash, "t": ref.timestamp},
                ).scalar_one()
                for ordinal in range(2):
                    conn.execute(
                        text(
                            "INSERT INTO provenance_calls (snapshot_id, ordinal, target, function, args, result, "
                            "success) VALUES (:s, :o, :a, 'totalSupply()', '[]', '1', :ok)"
                        ),
                        {"s": snapshot_id, "o": ordinal, "a": "0x" + "11" * 20, "ok": True},
                    )
        migrate(engine)
        repo = Repository(engine)
        assert stored_blocks(repo) == [7, 7, 9, 9]
        found = repo.snapshot_at("demo", 1, 9)
        assert found is not None
        assert [c.block for c in found.calls] == [None, None]  # the snapshot's own block
    finally:
        engine.dispose()
