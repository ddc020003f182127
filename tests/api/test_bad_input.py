"""Bad input gives a 4xx JSON error naming the parameter and the problem — never a 500 or a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import FilledStore, make_app

#: Stands for a time ten days ahead, filled in when the test runs: a timestamp in a test's id would differ between
#: the two xdist workers' collections (a second apart) and stop the run.
FUTURE = "{future}"
WETH_ISH = "0x" + "ab" * 20


@pytest.fixture(scope="module")
def client(api_store: FilledStore) -> Iterator[TestClient]:
    """One app for the module: refusals change nothing, and a new app (with its startup) per case cost a quarter
    of a second each. About 50 requests stay far inside the per-IP rate limit."""
    with TestClient(make_app(api_store)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "params", "status", "field", "problem"),
    [
        ("/v1/prices", {"tokens": "ethereum:0x12"}, 422, "tokens", "malformed address '0x12'"),
        ("/v1/prices", {"tokens": f"ethereum:{WETH_ISH}z"}, 422, "tokens", "malformed address"),
        ("/v1/prices", {"tokens": WETH_ISH}, 422, "tokens", "expected chain:address"),
        ("/v1/prices", {"tokens": f"solana:{WETH_ISH}"}, 422, "tokens", "unknown chain 'solana'"),
        ("/v1/prices", {"tokens": ",".join([f"ethereum:{WETH_ISH}"] * 101)}, 422, "tokens", "at most 100"),
        ("/v1/prices", {}, 422, "tokens", "Field required"),
        ("/v1/chains/solana/tvl", {}, 404, "chain", "unknown chain 'solana'"),
        ("/v1/protocols", {"chain": "narnia"}, 404, "chain", "unknown chain"),
        ("/v1/protocols", {"limit": -5}, 422, "limit", "greater than or equal to 1"),
        ("/v1/protocols", {"offset": -1}, 422, "offset", "greater than or equal to 0"),
        ("/v1/protocols", {"limit": 10**9}, 422, "limit", "less than or equal to 500"),
        ("/v1/protocols", {"limit": "lots"}, 422, "limit", "valid integer"),
        ("/v1/protocols", {"sort": "shoe-size"}, 422, "sort", "Input should be"),
        ("/v1/protocols/uniswap-v2/tvl", {"end": FUTURE}, 422, "end", "is in the future"),
        ("/v1/protocols/uniswap-v2/tvl", {"start": -1}, 422, "start", "greater than or equal to 0"),
        ("/v1/protocols/uniswap-v2/tvl", {"start": 200, "end": 100}, 422, "start", "is after end"),
        ("/v1/prices/history", {"token": f"ethereum:{WETH_ISH}", "start": FUTURE}, 422, "start", "in the future"),
        ("/v1/protocols/nope", {}, 404, "slug", "no protocol 'nope' is stored"),
        ("/v1/protocols/uniswap-v2/explain", {"chain": "ethereum", "block": 1}, 404, "block", "at block 1"),
        ("/v1/protocols/uniswap-v2/explain", {"chain": "ethereum", "block": -1}, 422, "block", "greater than"),
        (f"/prices/historical/{FUTURE}/ethereum:{WETH_ISH}", {}, 422, "timestamp", "in the future"),
        (f"/prices/current/ethereum:{WETH_ISH}", {"searchWidth": "-4h"}, 422, "searchWidth", "expected seconds"),
        (f"/prices/current/ethereum:{WETH_ISH}", {"searchWidth": "²h"}, 422, "searchWidth", "expected seconds"),
        (f"/prices/current/ethereum:{WETH_ISH}", {"searchWidth": "9999999999w"}, 422, "searchWidth", "expected"),
        (f"/prices/current/ethereum:{WETH_ISH}", {"searchWidth": "99999w"}, 422, "searchWidth", "wider than"),
        (f"/prices/historical/{2**64}/ethereum:{WETH_ISH}", {}, 422, "timestamp", "less than or equal"),
        (f"/chart/ethereum:{WETH_ISH}", {"period": "1²d"}, 422, "period", "expected seconds"),
        ("/v1/protocols", {"chain": "²"}, 422, "chain", "ASCII digits"),
        ("/v1/protocols", {"chain": "1²"}, 422, "chain", "ASCII digits"),
        ("/v1/protocols", {"chain": "9" * 30}, 422, "chain", "out of range"),
        ("/v1/chains/²/tvl", {}, 422, "chain", "ASCII digits"),
        ("/v1/yields", {"chain": "٣"}, 422, "chain", "ASCII digits"),
        ("/v1/protocols/uniswap-v2/explain", {"chain": "ethereum", "block": 2**64}, 422, "block", "less than"),
        ("/v1/protocols/uniswap-v2/tvl", {"start": 2**63}, 422, "start", "less than or equal"),
        ("/prices/current/ethereum:0xnothex", {}, 422, "coins", "malformed address"),
        ("/api/v3/simple/token_price/narnia", {"contract_addresses": WETH_ISH, "vs_currencies": "usd"}, 404,
         "platform", "unknown platform"),
        ("/api/v3/coins/weth/market_chart", {"vs_currency": "usd", "days": "-3"}, 422, "days", "ASCII digits"),
        ("/api/v3/coins/weth/market_chart", {"vs_currency": "usd", "days": "³"}, 422, "days", "ASCII digits"),
        ("/api/v3/coins/weth/market_chart", {"vs_currency": "usd", "days": "99999"}, 422, "days", "out of range"),
        ("/api/v3/coins/nope/market_chart", {"vs_currency": "usd", "days": "1"}, 404, "id", "not found"),
        ("/api/v3/coins/markets", {"vs_currency": "usd", "per_page": 100_000}, 422, "per_page", "less than"),
        ("/no/such/path", {}, 404, "path", "no such path"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(
    client: TestClient, path: str, params: dict[str, object], status: int, field: str, problem: str
) -> None:
    future = str(int(time.time()) + 10 * 86_400)
    path = path.replace(FUTURE, future)
    params = {name: future if value == FUTURE else value for name, value in params.items()}
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert problem in error["problem"]
    assert "Traceback" not in answer.text


def test_wrong_method_is_json_too(client: TestClient) -> None:
    answer = client.post("/v1/protocols")
    assert answer.status_code == 405
    assert answer.json()["error"]["problem"] == "Method Not Allowed"


def test_unknown_methods_share_one_metrics_label(client: TestClient) -> None:
    """Arbitrary method tokens must not become label values: each would be a new Prometheus series."""
    for method in ("FOOBAR", "X-EVIL-1", "X-EVIL-2"):
        client.request(method, "/v1/protocols")
    metrics = client.get("/metrics").text
    assert 'method="other"' in metrics
    assert "FOOBAR" not in metrics
    assert "X-EVIL" not in metrics
