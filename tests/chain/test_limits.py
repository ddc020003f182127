"""The limiter's arithmetic on a fake clock, the range learner, refusal parsing, answer checks, TOML limits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from defiscope.chain.errors import InvalidInput
from defiscope.chain.limits import (
    COMPUTE_UNITS,
    FREE_PLAN,
    UNLIMITED,
    EndpointLimits,
    LogRange,
    Throttle,
    background_reads,
    parse_retry_after,
    suggested_span,
)
from defiscope.chain.results import result_problem
from defiscope.config import load_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def send_times(throttle: Throttle, clock: FakeClock, count: int, methods: list[str]) -> list[float]:
    """When each of `count` requests queued at once may go."""
    return [clock.now + throttle.delay(methods) for _ in range(count)]


def most_in_any_second(times: list[float], weights: int = 1) -> int:
    return max(sum(weights for t in times if start <= t < start + 1.0) for start in times)


def test_requests_are_paced_under_the_rate_after_a_bounded_burst() -> None:
    clock = FakeClock()
    throttle = Throttle(FREE_PLAN, clock=clock)
    times = send_times(throttle, clock, 100, ["eth_call"])
    assert times[:13] == [100.0] * 13  # half a second of budget goes at once
    assert times[-1] == pytest.approx(100.0 + 99 / 25 - 0.5)
    assert most_in_any_second(times) <= 25 + 13


def test_a_batch_counts_each_item_and_may_run_into_debt() -> None:
    clock = FakeClock()
    throttle = Throttle(FREE_PLAN, clock=clock)
    assert throttle.delay(["eth_call"] * 100) == 0.0  # larger than the burst, still sent: it pays afterwards
    assert throttle.delay(["eth_call"]) == pytest.approx(100 / 25 - 0.5)


def test_compute_units_are_a_second_budget() -> None:
    clock = FakeClock()
    limits = EndpointLimits(requests_per_second=100, compute_units_per_second=150, burst_seconds=0.0)
    throttle = Throttle(limits, clock=clock)
    assert throttle.delay(["eth_getLogs"]) == 0.0
    assert throttle.delay(["eth_getLogs"]) == pytest.approx(COMPUTE_UNITS["eth_getLogs"] / 150)
    assert throttle.delay(["eth_chainId"]) == pytest.approx(2 * COMPUTE_UNITS["eth_getLogs"] / 150)


def test_a_refusal_pauses_for_retry_after_and_halves_the_rate_once_per_window() -> None:
    clock = FakeClock()
    throttle = Throttle(FREE_PLAN, clock=clock)
    assert throttle.rate_limited(3.0, fallback=1.0) == 3.0
    throttle.rate_limited(3.0, fallback=1.0)  # a second refusal of the same burst: no second halving
    assert throttle.current_rate == 12.5
    assert throttle.delay(["eth_call"]) == pytest.approx(3.0)
    clock.now += 1.5
    throttle.rate_limited(None, fallback=1.0)
    assert throttle.current_rate == 6.25
    assert throttle.rate_limited(1e6, fallback=1.0) == FREE_PLAN.max_retry_after  # capped


def test_successes_win_the_rate_back_up_to_the_ceiling_only() -> None:
    throttle = Throttle(FREE_PLAN, clock=FakeClock())
    throttle.rate_limited(None, fallback=0.0)
    rates: list[float] = []
    for _ in range(300):
        throttle.succeeded()
        rates.append(throttle.current_rate or 0.0)
    assert rates[0] == pytest.approx(12.5 + 25 / 20 / 12.5)
    assert rates[12] < 12.5 + 25 / 20 * 1.05  # about a second of requests wins back a twentieth of the ceiling
    assert rates == sorted(rates)
    assert max(rates) == 25


def test_an_unlimited_endpoint_learns_a_rate_from_its_first_refusal() -> None:
    clock = FakeClock()
    throttle = Throttle(UNLIMITED, clock=clock)
    assert set(send_times(throttle, clock, 40, ["eth_call"])) == {100.0}
    assert throttle.current_rate is None
    throttle.rate_limited(1.0, fallback=1.0)
    assert throttle.current_rate == 20.0  # half of the 40 sent in the last second
    later = send_times(throttle, clock, 30, ["eth_call"])
    assert min(later) == pytest.approx(101.0)
    assert most_in_any_second(later) <= 20 + 10


ALCHEMY = (
    "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on "
    "the response size, or you can request any block range with a cap of 10K logs in the response. Based on "
    "your parameters, this block range should work: [0x10, 0x2f]"
)


@pytest.mark.parametrize(
    ("message", "start", "span"),
    [
        (ALCHEMY, 0x10, 0x20),
        (ALCHEMY, 0x11, 2000),  # the range is for another start: the block count it names instead
        ("query returned more than 10000 results. Try with this block range [0x64, 0x6d].", 100, 10),
        ("exceed maximum block range: 5000", 0, 5000),
        ("eth_getLogs is limited to a 10,000 block range", 0, 10_000),
        ("query returned more than 10000 results", 0, None),  # results, not blocks: no span named
    ],
)
def test_suggested_span(message: str, start: int, span: int | None) -> None:
    assert suggested_span(message, start) == span


def test_log_range_shrinks_to_the_hint_or_half_and_grows_back_slowly() -> None:
    learner = LogRange(ceiling=1000)
    assert learner.next_span(50_000) == 1000
    assert learner.refused(1000, "exceed maximum block range: 300", 0) == 300
    assert learner.refused(300, "query timeout exceeded", 0) == 150
    spans = []
    for _ in range(30):
        span = learner.next_span(50_000)
        learner.succeeded(span)
        spans.append(span)
    assert spans[:4] == [150, 150, 187, 187]
    assert max(spans) == 1000  # never past the configured ceiling
    learner.succeeded(3)  # a short tail says nothing
    assert learner.span == 1000


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0.25", 0.25), ("-4", 0.0), ("soon", None), (None, None), ("", None)],
)
def test_retry_after_forms(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == 7.0


@pytest.mark.parametrize(
    ("method", "result", "problem"),
    [
        ("eth_call", "0x", None),
        ("eth_call", "0xabc", "is not hex data"),
        ("eth_call", 12, "is not hex data"),
        ("eth_blockNumber", "0x", "is not a hex quantity"),
        ("eth_getBalance", "0x1f", None),
        ("eth_getBlockByNumber", None, None),
        ("eth_getBlockByNumber", {"number": "0x1", "hash": "0x" + "ab" * 32}, "lacks a valid timestamp"),
        ("eth_getLogs", [{"garbled": True}], "holds a log without topics"),
        ("eth_getLogs", [], None),
        ("web3_clientVersion", {"anything": 1}, None),
    ],
)
def test_result_shapes(method: str, result: Any, problem: str | None) -> None:
    assert result_problem(method, result) == problem


def test_toml_limits_per_endpoint_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[rpc.limits]\nrequests_per_second = 10\nmax_log_blocks = 0\n\n"
        "[chains.1]\n"
        'rpc = [{ url = "https://a.example/v2/KEY", requests_per_second = 300, compute_units_per_second = 7500 },'
        ' "https://b.example", "http://127.0.0.1:8545"]\n'
    )
    settings = load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path)})
    urls = settings.chain_rpcs[1]
    assert urls == ("https://a.example/v2/KEY", "https://b.example", "http://127.0.0.1:8545")
    own, default, local = (settings.rpc.limits_for(u) for u in urls)
    assert (own.requests_per_second, own.compute_units_per_second, own.max_log_blocks) == (300, 7500, None)
    assert (default.requests_per_second, default.max_log_blocks, default.max_batch_items) == (10, None, 100)
    assert local == UNLIMITED
    assert load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path / "none")}).rpc.limits_for("https://x") == FREE_PLAN


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[rpc.limits]\nrps = 3\n", "unknown limit 'rps'"),
        ("[rpc.limits]\nrequests_per_second = -1\n", "requests_per_second must be a number >= 0"),
        ("[chains.1]\nrpc = [{ requests_per_second = 3 }]\n", "rpc entry lacks url"),
        ('[chains.1]\nrpc = [{ url = "https://a", max_batch_items = 2.5 }]\n', "max_batch_items must be a whole"),
    ],
)
def test_bad_limits_are_named(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(InvalidInput, match=problem):
        load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path)})


async def test_a_background_request_yields_to_one_that_comes_later() -> None:
    """Risk scoring reads under `background_reads()`: it books only once no other request waits and the budget has
    no debt, so a later indexer request goes first (without the lane it would wait behind it)."""
    throttle = Throttle(EndpointLimits(requests_per_second=100, burst_seconds=0.0))
    sent: dict[str, float] = {}
    started = time.monotonic()

    async def send(name: str, items: int, *, background: bool = False, after: float = 0.0) -> None:
        await asyncio.sleep(after)
        with background_reads() if background else contextlib.nullcontext():
            await throttle.acquire(["eth_call"] * items)
        sent[name] = time.monotonic() - started

    await send("first", 50)  # half a second of debt
    await asyncio.gather(send("background", 10, background=True), send("later", 10, after=0.1))
    assert sent["later"] < sent["background"]
    assert sent["later"] == pytest.approx(0.5, abs=0.1)
    assert sent["background"] >= 0.6 - 0.01  # once the later request's share was paid too


def test_a_background_request_books_at_most_a_second_of_budget() -> None:
    clock = FakeClock()
    assert Throttle(FREE_PLAN, clock=clock).booking_cap == 25
    assert Throttle(UNLIMITED, clock=clock).booking_cap is None  # nothing known to share yet
    learnt = Throttle(UNLIMITED, clock=clock)
    learnt.delay(["eth_call"] * 40)
    learnt.rate_limited(retry_after=1.0, fallback=1.0)  # learns half of the last second's 40 items
    assert learnt.booking_cap == 20
    assert not learnt.budget_free()  # paused
    clock.now += 2.0
    assert learnt.budget_free()
