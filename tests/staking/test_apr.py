"""Lido staking APR: exact values for a known series, and the devnet's seeded week of reports."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.tx import Sender
from defiscope.protocols.lido.apr import AprError, AprPoint, RebaseReport, apr_series, sma_apr, user_apr
from defiscope.protocols.lido.reports import (
    ETH_DISTRIBUTED_KIND,
    STETH,
    TOKEN_REBASED_KIND,
    rebase_reports,
    report_of,
    report_stream,
)
from defiscope.store import Repository

DAY = 86_400
BASE = 10**24


def daily(i: int, growth: int) -> RebaseReport:
    """Report i: the share rate goes from exactly 1 to 1 + growth / 10**6 in one day (fees already out)."""
    return RebaseReport(1_700_000_000 + i * DAY, DAY, BASE, BASE, BASE, BASE + BASE * growth // 10**6, 0)


SERIES = [daily(i, growth) for i, growth in enumerate([10, 20, 30, 40, 50, 60, 70, 80])]


def test_user_apr_follows_lidos_formula_exactly() -> None:
    # secondsInYear * ((post - pre) / pre) / timeElapsed = 365 * 10 / 10**6
    assert user_apr(SERIES[0]) == Fraction(365 * 10, 10**6)
    # Pre and post rates are integers with 27 decimals, as Lido's docs compute them.
    odd = RebaseReport(0, 3 * DAY, 3 * 10**18, 10**18, 3 * 10**18, 10**18 + 10**15, 0)
    pre, post = 10**45 // (3 * 10**18), (10**18 + 10**15) * 10**27 // (3 * 10**18)
    assert (odd.pre_share_rate, odd.post_share_rate) == (pre, post)
    assert user_apr(odd) == Fraction(365 * DAY * (post - pre), pre * 3 * DAY)


def test_sma_is_the_mean_of_the_last_seven_reports() -> None:
    # Reports 1..7 (growth 20..80): mean growth 50 per million a day -> 365 * 50 / 10**6 = 1.825 %.
    assert sma_apr(SERIES) == Fraction(1825, 100_000)
    assert sma_apr(list(reversed(SERIES))) == Fraction(1825, 100_000)  # ordered by report time, not input
    assert sma_apr(SERIES[:2]) == Fraction(365 * 15, 10**6)


def test_apr_series_is_a_time_series_with_growing_windows() -> None:
    points = apr_series(SERIES)
    assert [p.window for p in points] == [1, 2, 3, 4, 5, 6, 7, 7]
    assert points[-1] == AprPoint(SERIES[-1].report_timestamp, Fraction(365 * 80, 10**6), Fraction(1825, 100_000), 7)
    assert points[0].sma == points[0].apr == Fraction(365 * 10, 10**6)


def test_slashing_gives_a_negative_apr_that_lowers_the_average() -> None:
    slashed = RebaseReport(SERIES[-1].report_timestamp + DAY, DAY, BASE, BASE, BASE, BASE - BASE // 1000, 0)
    assert user_apr(slashed) == Fraction(-365, 1000)
    assert (
        sma_apr([*SERIES, slashed]) == (Fraction(365 * (30 + 40 + 50 + 60 + 70 + 80), 10**6) - Fraction(365, 1000)) / 7
    )


def test_reports_that_give_no_apr_say_why() -> None:
    with pytest.raises(AprError, match="no oracle reports"):
        sma_apr([])
    with pytest.raises(AprError, match="no time elapsed"):
        user_apr(RebaseReport(5, 0, BASE, BASE, BASE, BASE, 0))


async def test_devnet_week_of_reports_gives_lidos_apr(
    client: ChainClient, deployment: Deployment, lido: LidoDevnet, sender: Sender
) -> None:
    head = sender.w3.eth.block_number
    reports = await rebase_reports(client, deployment, from_block=0, to_block=head)
    assert len(reports) == 8  # the history report and seven daily ones
    assert [r.time_elapsed for r in reports[1:]] == [DAY] * 7
    # 3 % a year on the CL balance, less the 10 % fee: 2.7 % (to gwei and share-rate rounding) ...
    daily_aprs = [user_apr(r) for r in reports[1:]]
    assert all(abs(apr - Fraction(27, 1000)) < Fraction(1, 10**11) for apr in daily_aprs[:-1])
    # ... and a little more on the last day: it finalized a 10 stETH request at its request-time value, so the
    # rewards those shares earned while queued stay with the holders (as on mainnet).
    assert Fraction(27, 1000) + Fraction(1, 10**6) < daily_aprs[-1] < Fraction(28, 1000)
    assert sma_apr(reports) == sum(daily_aprs, Fraction(0)) / 7
    lido.report(sender, cl_balance_delta=-1_000 * 10**18)  # a slashing day pulls the week's average down
    after = await rebase_reports(client, deployment, from_block=head + 1, to_block=sender.w3.eth.block_number)
    assert len(after) == 1
    assert sma_apr([*reports, *after]) == sum((user_apr(r) for r in [*reports[-6:], *after]), Fraction(0)) / 7
    assert sma_apr([*reports, *after]) < 0


async def test_reports_are_stored_and_the_apr_series_recomputed_from_them(
    client: ChainClient, deployment: Deployment, lido: LidoDevnet, sender: Sender, tmp_path: Path
) -> None:
    head = sender.w3.eth.block_number
    # What the service does with the adapter's stream: the stream's logs, parsed, stored under "lido".
    stream = report_stream(deployment.contract(STETH))
    logs = await client.get_logs(address=stream.address, topics=[list(stream.topics)], from_block=0, to_block=head)
    events = [stream.parse(log) for log in logs]
    assert [e.kind for e in events].count(ETH_DISTRIBUTED_KIND) == 8  # each report distributes, then rebases
    repo = Repository.open(f"sqlite:///{tmp_path / 'apr.db'}")
    try:
        assert repo.save_events(1, "lido", events) == 16
        repo.save_events(1, "lido", events[-4:])  # saving again changes nothing
        stored = [report_of(e) for e in repo.events(1, "lido", TOKEN_REBASED_KIND)]
        chain = await rebase_reports(client, deployment, from_block=0, to_block=head)
        assert stored == chain  # exact integers back (uint256 in JSON text on SQLite)
        assert apr_series(stored) == apr_series(chain)
        distributed = repo.events(1, "lido", ETH_DISTRIBUTED_KIND)
        assert [e.payload["report_timestamp"] for e in distributed] == [r.report_timestamp for r in chain]
        assert all(e.payload["post_cl_balance"] > 0 for e in distributed)
        # A reorg below the last report's block forgets it (both of its events).
        last = repo.events(1, "lido", TOKEN_REBASED_KIND)[-1]
        repo.rollback_from(1, last.block_number)
        assert [report_of(e) for e in repo.events(1, "lido", TOKEN_REBASED_KIND)] == chain[:-1]
        assert len(repo.events(1, "lido", ETH_DISTRIBUTED_KIND)) == 7
    finally:
        repo.close()
