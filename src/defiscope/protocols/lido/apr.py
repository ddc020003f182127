"""Lido's staking APR from oracle reports (TokenRebased events), exactly as Lido publishes it.

Per report (Lido docs, "Last Lido APR for stETH"):

    preShareRate  = preTotalEther * 1e27 / preTotalShares
    postShareRate = postTotalEther * 1e27 / postTotalShares
    userAPR = secondsInYear * ((postShareRate - preShareRate) / preShareRate) / timeElapsed

and the headline figure is the simple moving average of that APR over the last 7 daily reports (Lido's
``/v1/protocol/steth/apr/sma``). Share rates are integers (as in the docs); the APR is an exact Fraction.

>>> r = RebaseReport(86_400, 86_400, 10**18, 10**18, 10**18, 10**18 + 10**14, 0)
>>> float(user_apr(r))
0.0365
>>> float(sma_apr([r, r]))
0.0365
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from defiscope.errors import DefiscopeError
from defiscope.protocols.lido.shares import share_rate

SECONDS_IN_YEAR: Final = 365 * 24 * 60 * 60
SMA_WINDOW: Final = 7
#: stETH rebases once a day (each oracle report): its APY compounds the APR daily.
REBASES_PER_YEAR: Final = 365
#: How the staking rate is computed, wherever it is given (the adapter's stored rate, the API).
SMA_METHOD: Final = (
    "Lido userAPR per oracle report (TokenRebased): 365 days * (postShareRate - preShareRate) / preShareRate "
    "/ timeElapsed, share rates = totalEther * 1e27 // totalShares; the APR is the simple moving average "
    f"over the last {SMA_WINDOW} reports (Lido's published SMA); APY compounds it at each daily rebase"
)


class AprError(DefiscopeError):
    """An APR that cannot be computed from the given reports (none, or a report with no time elapsed)."""


@dataclass(frozen=True, slots=True)
class RebaseReport:
    """One `TokenRebased(reportTimestamp, timeElapsed, preTotalShares, preTotalEther, postTotalShares,
    postTotalEther, sharesMintedAsFees)` event."""

    report_timestamp: int
    time_elapsed: int
    pre_total_shares: int
    pre_total_ether: int
    post_total_shares: int
    post_total_ether: int
    shares_minted_as_fees: int

    @property
    def pre_share_rate(self) -> int:
        return share_rate(self.pre_total_ether, self.pre_total_shares)

    @property
    def post_share_rate(self) -> int:
        return share_rate(self.post_total_ether, self.post_total_shares)


@dataclass(frozen=True, slots=True)
class AprPoint:
    """The APR of one report and the moving average of the reports up to it (fewer than 7 at the start)."""

    timestamp: int
    apr: Fraction
    sma: Fraction
    window: int  # how many reports the average covers


def user_apr(report: RebaseReport) -> Fraction:
    """Lido's userAPR of one report; negative after a slashing report that lowers the share rate."""
    if report.time_elapsed <= 0:
        raise AprError(f"report at {report.report_timestamp} has no time elapsed: no APR")
    if report.pre_total_shares == 0:
        raise AprError(f"report at {report.report_timestamp} has no shares before it: no APR")
    pre, post = report.pre_share_rate, report.post_share_rate
    return SECONDS_IN_YEAR * Fraction(post - pre, pre) / report.time_elapsed


def sma_apr(reports: Sequence[RebaseReport], window: int = SMA_WINDOW) -> Fraction:
    """The simple moving average of `user_apr` over the last ``window`` reports (by report time)."""
    if not reports:
        raise AprError("no oracle reports: no APR")
    last = sorted(reports, key=lambda r: r.report_timestamp)[-window:]
    return sum((user_apr(r) for r in last), Fraction(0)) / len(last)


def apr_series(reports: Sequence[RebaseReport], window: int = SMA_WINDOW) -> list[AprPoint]:
    """The APR time series: each report's APR and the moving average ending at it."""
    ordered = sorted(reports, key=lambda r: r.report_timestamp)
    aprs = [user_apr(r) for r in ordered]
    points = []
    for i, report in enumerate(ordered):
        recent = aprs[max(0, i + 1 - window) : i + 1]
        points.append(AprPoint(report.report_timestamp, aprs[i], sum(recent, Fraction(0)) / len(recent), len(recent)))
    return points
