"""Bad input gives a 4xx JSON error naming the parameter and the problem — never a 500 or a traceback."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

FUTURE = int(time.time()) + 10 * 86_400
WETH_ISH = "0x" + "ab" * 20


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
        (f"/prices/current/ethereum:{WETH_ISH}", {"searchWidth": "-4h"}, 422, "searchWidth", "negative"),
        ("/prices/current/ethereum:0xnothex", {}, 422, "coins", "malformed address"),
        ("/api/v3/simple/token_price/narnia", {"contract_addresses": WETH_ISH, "vs_currencies": "usd"}, 404,
         "platform", "unknown platform"),
        ("/api/v3/coins/weth/market_chart", {"vs_currency": "usd", "days": "-3"}, 422, "days", "whole number"),
        ("/api/v3/coins/nope/market_chart", {"vs_currency": "usd", "days": "1"}, 404, "id", "not found"),
        ("/api/v3/coins/markets", {"vs_currency": "usd", "per_page": 100_000}, 422, "per_page", "less than"),
        ("/no/such/path", {}, 404, "path", "no such path"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(
    client: TestClient, path: str, params: dict[str, object], status: int, field: str, problem: str
) -> None:
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
