"""interval=block histories are capped at `max_history_points`: more is a 400 naming `interval` that says
what to do; at the cap or with a coarser interval the points are served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings
from defiscope.chain.errors import InvalidInput
from tests.api.conftest import ROUNDS, FilledStore, make_app

#: Chain 1 only: one stored block per fixture round. (httpx's `params` replace a query written in the path.)
CASES = [("/v1/protocols/uniswap-v2/tvl", {"chain": "ethereum"}), ("/v1/chains/ethereum/tvl", {})]


@pytest.mark.parametrize(("path", "query"), CASES)
def test_over_the_cap_is_a_400_naming_interval(api_store: FilledStore, path: str, query: dict[str, str]) -> None:
    with TestClient(make_app(api_store, max_history_points=ROUNDS - 1)) as client:
        answer = client.get(path, params={**query, "interval": "block"})
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["field"] == "interval"
        assert f"more than {ROUNDS - 1} blocks in the range" in error["problem"]
        assert "narrow start/end or use interval=hour or day" in error["problem"]
        assert client.get(path, params={**query, "interval": "hour"}).status_code == 200  # coarser is not capped


@pytest.mark.parametrize(("path", "query"), CASES)
def test_at_the_cap_every_block_is_served(api_store: FilledStore, path: str, query: dict[str, str]) -> None:
    with TestClient(make_app(api_store, max_history_points=ROUNDS)) as client:
        answer = client.get(path, params={**query, "interval": "block"})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["points"]) == ROUNDS


@pytest.mark.parametrize(("path", "query"), CASES)
def test_hour_and_day_keep_the_newest_buckets_up_to_the_cap(
    api_store: FilledStore, path: str, query: dict[str, str]
) -> None:
    with TestClient(make_app(api_store)) as client:
        every = client.get(path, params={**query, "interval": "hour"}).json()["points"]
    assert len(every) >= 2  # the fixture's rounds span more than an hour
    with TestClient(make_app(api_store, max_history_points=1)) as client:
        newest = client.get(path, params={**query, "interval": "hour"}).json()["points"]
    assert newest == every[-1:]


def test_a_non_positive_cap_is_refused() -> None:
    with pytest.raises(InvalidInput, match="max_history_points"):
        ApiSettings(max_history_points=0)
