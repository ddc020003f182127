"""DefiLlama- and CoinGecko-compatible routes: their documented shapes, filled with the stored figures, and
the PyPI clients of both APIs (`defillama`, `pycoingecko`) pointed at a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import defillama.defillama as llama_module
import pytest
from defillama import DefiLlama
from fastapi.testclient import TestClient
from pycoingecko import CoinGeckoAPI

from defiscope.protocols.base import BalanceKind
from defiscope.store import Repository
from defiscope.tvl.model import exact_sum
from tests.api.conftest import FilledStore, make_app
from tests.api.serverkit import serving

# DefiLlama's documented fields (defillama.com/docs/api) and their JSON types.
PROTOCOL_FIELDS = {
    "id": str, "name": str, "symbol": str, "chain": str, "category": str, "chains": list, "slug": str,
    "tvl": float, "chainTvls": dict, "audits": str, "forkedFrom": list, "oracles": list,
}  # fmt: skip
CHAIN_FIELDS = {"tvl": float, "name": str, "chainId": int}


@pytest.fixture
def repo(api_store: FilledStore) -> Iterator[Repository]:
    store = Repository.open(api_store.url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def base_url(api_store: FilledStore) -> Iterator[str]:
    with serving(make_app(api_store)) as url:
        yield url


def _typed(doc: dict[str, Any], fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        assert isinstance(doc[name], kind), f"{name}: {doc[name]!r} is not {kind.__name__}"


def _tvl(repo: Repository, slug: str) -> float:
    return float(exact_sum(s.total(BalanceKind.TVL) for s in repo.latest_snapshots() if s.slug == slug))


def weth(store: FilledStore) -> str:
    return store.deployments[0].token("WETH").address


def test_llama_protocols_shape(client: TestClient, repo: Repository) -> None:
    rows = client.get("/protocols").json()
    assert isinstance(rows, list)
    assert rows
    for row in rows:
        _typed(row, PROTOCOL_FIELDS)
        assert row["tvl"] == _tvl(repo, row["slug"])
        assert row["change_1h"] is None or isinstance(row["change_1h"], float)
    uni = next(r for r in rows if r["slug"] == "uniswap-v2")
    assert uni["chain"] == "Multi-Chain"
    assert uni["chains"] == ["Ethereum", "BSC"]
    latest = repo.latest_snapshot("uniswap-v2", 56)
    assert latest is not None
    assert uni["chainTvls"]["BSC"] == float(latest.total(BalanceKind.TVL))


def test_llama_protocol_and_tvl(client: TestClient, repo: Repository) -> None:
    doc = client.get("/protocol/uniswap-v2").json()
    assert set(doc["chainTvls"]) == {"Ethereum", "BSC"}
    series = doc["chainTvls"]["Ethereum"]["tvl"]
    assert all(set(p) == {"date", "totalLiquidityUSD"} and p["date"] % 86_400 == 0 for p in series)
    assert doc["tvl"][-1]["totalLiquidityUSD"] == pytest.approx(_tvl(repo, "uniswap-v2"), rel=1e-15)
    assert sum(doc["tokensInUsd"][-1]["tokens"].values()) == pytest.approx(_tvl(repo, "uniswap-v2"), rel=1e-12)
    assert doc["currentChainTvls"]["Ethereum"] == doc["chainTvls"]["Ethereum"]["tvl"][-1]["totalLiquidityUSD"]
    assert client.get("/tvl/uniswap-v2").json() == _tvl(repo, "uniswap-v2")
    missing = client.get("/tvl/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "slug"


def test_llama_chains_and_history(client: TestClient, repo: Repository) -> None:
    chains = {c["name"]: c for c in client.get("/v2/chains").json()}
    for c in chains.values():
        _typed(c, CHAIN_FIELDS)
    assert chains["Ethereum"]["chainId"] == 1
    assert chains["BSC"]["tokenSymbol"] == "BNB"
    history = client.get("/v2/historicalChainTvl/Ethereum").json()
    assert all(set(p) == {"date", "tvl"} for p in history)
    assert history[-1]["tvl"] == float(repo.chain_history(1)[-1].tvl_usd)
    both = client.get("/v2/historicalChainTvl").json()
    assert both[-1]["tvl"] == float(repo.chain_history(1)[-1].tvl_usd + repo.chain_history(56)[-1].tvl_usd)


def test_llama_coin_prices(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    key = f"ethereum:{weth(api_store).lower()}"
    quote = repo.latest_price(1, weth(api_store))
    assert quote is not None
    first = repo.prices(1, weth(api_store))[0]  # the devnet's clock runs ahead: its first quote is about now
    doc = client.get(f"/prices/historical/{first.timestamp}/{key}", params={"searchWidth": "600"}).json()
    assert doc == {
        "coins": {
            key: {
                "decimals": 18,
                "symbol": "WETH",
                "price": float(first.usd),
                "timestamp": first.timestamp,
                "confidence": first.confidence,
            }
        }
    }
    future = client.get(f"/prices/historical/{quote.timestamp + 10**6}/{key}")
    assert future.status_code == 422
    assert future.json()["error"]["field"] == "timestamp"
    chart = client.get(f"/chart/{key}").json()["coins"][key]
    assert [p["price"] for p in chart["prices"]] == [float(q.usd) for q in repo.prices(1, weth(api_store))]
    assert chart["symbol"] == "WETH"
    assert chart["decimals"] == 18


def test_gecko_shapes(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    assert client.get("/api/v3/ping").json() == {"gecko_says": "(V3) To the Moon!"}
    quote = repo.latest_price(1, weth(api_store))
    assert quote is not None
    simple = client.get(
        "/api/v3/simple/price", params={"ids": "weth,nope", "vs_currencies": "usd,eur", "include_last_updated_at": True}
    ).json()
    assert simple == {"weth": {"usd": float(quote.usd), "last_updated_at": quote.timestamp}}
    by_address = client.get(
        "/api/v3/simple/token_price/ethereum", params={"contract_addresses": weth(api_store), "vs_currencies": "usd"}
    ).json()
    assert by_address == {weth(api_store).lower(): {"usd": float(quote.usd)}}
    markets = client.get("/api/v3/coins/markets", params={"vs_currency": "usd", "ids": "weth"}).json()
    assert [(m["id"], m["symbol"], m["current_price"]) for m in markets] == [("weth", "weth", float(quote.usd))]
    chart = client.get("/api/v3/coins/weth/market_chart", params={"vs_currency": "usd", "days": "max"}).json()
    assert chart["prices"] == [[q.timestamp * 1000, float(q.usd)] for q in repo.prices(1, weth(api_store))]
    assert chart["market_caps"] == []
    assert chart["total_volumes"] == []


def test_defillama_client(
    base_url: str, repo: Repository, api_store: FilledStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_module, "BASE_URL", base_url)
    client = DefiLlama()
    protocols = client.get_all_protocols()
    assert {p["slug"] for p in protocols} == set(repo.protocol_slugs())
    assert client.get_protocol_current_tvl("uniswap-v2") == _tvl(repo, "uniswap-v2")
    assert client.get_protocol("uniswap-v2")["name"] == "Uniswap V2"
    assert {c["name"] for c in client.get_chains_current_tvl()} == {"Ethereum", "BSC"}
    assert client.get_historical_tvl_chain("bsc")[-1]["tvl"] == float(repo.chain_history(56)[-1].tvl_usd)
    key = f"ethereum:{weth(api_store)}"
    quote = repo.latest_price(1, weth(api_store))
    assert quote is not None
    first = repo.prices(1, weth(api_store))[0]
    charted = client.get_token_prices_at_intervals(key, start=0, end=first.timestamp)["coins"][key]
    assert charted["prices"] == [{"timestamp": first.timestamp, "price": float(first.usd)}]
    current = client.get_token_current_prices(key)["coins"][key]  # the client asks with searchWidth=4h
    assert (current["price"], current["timestamp"], current["symbol"]) == (float(quote.usd), quote.timestamp, "WETH")


def test_pycoingecko_client(base_url: str, repo: Repository, api_store: FilledStore) -> None:
    gecko = CoinGeckoAPI()
    gecko.api_base_url = f"{base_url}/api/v3/"
    quote = repo.latest_price(1, weth(api_store))
    assert quote is not None
    assert gecko.ping() == {"gecko_says": "(V3) To the Moon!"}
    assert gecko.get_price(ids="weth", vs_currencies="usd") == {"weth": {"usd": float(quote.usd)}}
    assert gecko.get_token_price("ethereum", weth(api_store), "usd") == {
        weth(api_store).lower(): {"usd": float(quote.usd)}
    }
    assert gecko.get_coins_markets("usd", ids="weth")[0]["current_price"] == float(quote.usd)
    chart = gecko.get_coin_market_chart_by_id("weth", "usd", "max")
    assert chart["prices"][-1] == [quote.timestamp * 1000, float(quote.usd)]
    assert Decimal(str(chart["prices"][0][1])) < Decimal(str(chart["prices"][-1][1]))
