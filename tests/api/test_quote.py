"""GET /v1/quote on the devnet: the answer is `plan_swap`'s at the indexed block, its transaction simulates to
the quoted amount, it is cached with an ETag, and every bad input is a 4xx naming the parameter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from defiscope.chain.client import ChainClient
from defiscope.devnet import Devnet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.routing.load import PoolRef
from defiscope.routing.plan import plan_swap
from tests.api.conftest import Indexed, indexed_app

USDC_SOLD = 25_000 * 10**6


async def _plan(chain: DevnetChain, **kwargs: Any) -> dict[str, Any]:
    refs = [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools]
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        return await plan_swap(client, devnet_deployment(chain), refs, **kwargs)


def _fund_and_approve(chain: DevnetChain, symbol: str, amount: int) -> str:
    """Account 1 holds `amount` of `symbol` and lets every router and pool of the chain spend it."""
    sender = Sender.connect(chain.rpc_url)
    me = sender.accounts[1]
    token = sender.contract(contract_artifact("DevToken"), chain.tokens[symbol])
    sender.send(token.functions.mint(me, amount))
    spenders = [a for name, a in chain.contracts.items() if "Router" in name] + [p.address for p in chain.pools]
    for spender in spenders:
        sender.send(token.functions.approve(spender, MAX_UINT256), sender=me)
    return me


@pytest.mark.parametrize(("routes", "recipient"), [(1, True), (3, False)])
def test_quote_is_plan_swaps_and_simulates_to_the_quoted_amount(
    devnet: Devnet, tmp_path: Any, routes: int, recipient: bool
) -> None:
    chain = devnet.chain(1)
    me = _fund_and_approve(chain, "USDC", USDC_SOLD) if recipient else None
    with indexed_app(devnet, f"sqlite:///{tmp_path / 'q.db'}") as app:  # indexed after the approvals
        query: dict[str, Any] = {"chain": "ethereum", "sell": "USDC", "buy": "WETH", "amount": "25000"}
        query |= {"routes": routes} | ({"recipient": me} if me else {})
        body = app.client.get("/v1/quote", params=query).json()
        indexed = app.repo.latest_blocks()[1]
    # Nothing was mined since indexing: plan_swap at the head reads the same block the API pinned.
    expected = asyncio.run(_plan(chain, sell="USDC", buy="WETH", amount="25000", max_routes=routes, recipient=me))
    assert expected["block"] == indexed.number
    assert (body["block"]["number"], body["block"]["hash"]) == (indexed.number, indexed.hash)
    for field in ("sell", "buy", "amount_out", "price_impact_percent", "routes"):
        assert body[field] == expected[field], field
    assert body["sell"]["raw"] == str(USDC_SOLD)
    assert sum(int(r["amount_in"]) for r in body["routes"]) == USDC_SOLD
    assert sum(int(r["amount_out"]) for r in body["routes"]) == int(body["amount_out"]["raw"])
    if me is None:
        assert body["transaction"] is None
        return
    assert body["transaction"] == expected["transaction"]
    assert body["transaction"]["from"] == me
    assert body["transaction"]["deadline"] == indexed.timestamp + 20 * 60
    # The funded, approving recipient's eth_call returns exactly the quoted amount.
    assert body["simulation"] == {"ok": True, "amount_out": body["amount_out"]["raw"], "error": None}


def test_pancakeswap_chain_quotes_too(indexed: Indexed, bnb_chain: DevnetChain) -> None:
    body = indexed.client.get("/v1/quote", params={"chain": "bsc", "sell": "USDT", "buy": "WBNB", "amount": "500"})
    assert body.status_code == 200, body.text
    expected = asyncio.run(_plan(bnb_chain, sell="USDT", buy="WBNB", amount="500"))
    assert body.json()["amount_out"] == expected["amount_out"]
    assert int(expected["amount_out"]["raw"]) > 0


def test_repeat_is_a_304_and_served_from_the_cache(indexed: Indexed) -> None:
    query = {"chain": "1", "sell": "WETH", "buy": "DAI", "amount": "2.5"}
    first = indexed.client.get("/v1/quote", params=query)
    assert first.status_code == 200, first.text
    again = indexed.client.get("/v1/quote", params=query, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    reordered = indexed.client.get("/v1/quote", params=dict(reversed(list(query.items()))))
    assert reordered.content == first.content
    assert reordered.headers["ETag"] == first.headers["ETag"]


def test_quote_is_in_the_openapi_schema(indexed: Indexed) -> None:
    schema = indexed.client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/quote"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "chain", "sell", "buy", "amount", "routes", "slippage", "recipient"
    }  # fmt: skip
    assert "from" in schema["components"]["schemas"]["Transaction"]["properties"]


EOA = "0x" + "12" * 20
OK = {"chain": "1", "sell": "USDC", "buy": "WETH", "amount": "1000"}


@pytest.mark.parametrize(
    ("change", "status", "field", "problem"),
    [
        ({"chain": "narnia"}, 404, "chain", "unknown chain"),
        ({"chain": "optimism"}, 404, "chain", "no quotes on chain 10"),
        ({"sell": "NOPE"}, 404, "sell", "unknown token 'NOPE'"),
        ({"buy": "NOPE"}, 404, "buy", "unknown token 'NOPE'"),
        ({"sell": EOA}, 404, "sell", "not an ERC-20"),
        ({"buy": "usdc"}, 422, "buy", "for itself"),
        ({"amount": "0"}, 422, "amount", "must be positive"),
        ({"amount": "-5"}, 422, "amount", "plain positive decimal"),
        ({"amount": "lots"}, 422, "amount", "plain positive decimal"),
        ({"amount": "1e999999999"}, 422, "amount", "plain positive decimal"),
        ({"amount": "1.0000001"}, 422, "amount", "more than 6 decimals"),
        ({"amount": "9" * 79}, 422, "amount", "beyond uint256"),
        ({"amount": "1" + "0" * 60}, 422, "amount", "beyond the pools' liquidity"),
        ({"routes": 0}, 422, "routes", "greater than or equal to 1"),
        ({"routes": 6}, 422, "routes", "less than or equal to 5"),
        ({"slippage": "-1"}, 422, "slippage", "greater than or equal to 0"),
        ({"slippage": "50.5"}, 422, "slippage", "less than or equal to 50"),
        ({"slippage": "half"}, 422, "slippage", "valid decimal"),
        ({"slippage": "1e-99999"}, 422, "slippage", "digits"),
        ({"recipient": "0x12"}, 422, "recipient", "malformed address"),
        ({"recipient": "me"}, 422, "recipient", "malformed address"),
    ],
)
def test_bad_input_names_the_field(
    indexed: Indexed, change: dict[str, object], status: int, field: str, problem: str
) -> None:
    answer = indexed.client.get("/v1/quote", params={**OK, **change})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert problem in error["problem"]


def test_a_server_without_chains_quotes_nowhere(client: Any) -> None:
    answer = client.get("/v1/quote", params=OK)
    assert answer.status_code == 404
    assert answer.json()["error"] == {
        "field": "chain",
        "problem": "no quotes on chain 1; chains quoted: none (this server reads no chains)",
    }
