"""Lido's staking rate and its fee share on the devnet: stETH answers getFee / getFeeDistribution as mainnet's, an
oracle report gives the stored rate and share exactly as computed from its TokenRebased event, and a failed read
is missing with its reason, never 0."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from defiscope.analytics.grades.fees import fee_rate, revenue_rate
from defiscope.analytics.grades.figures import Stamp
from defiscope.analytics.grades.market import MemberSample, Rate
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.tx import Sender
from defiscope.protocols.base import AdapterResult
from defiscope.protocols.lending.rates import apr_to_apy
from defiscope.protocols.lido.adapter import REBASES_PER_YEAR, LidoAdapter
from defiscope.protocols.lido.apr import user_apr
from defiscope.protocols.lido.reports import rebase_reports
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal
from defiscope.store import Repository
from tests.staking.conftest import unreported_lido

REAL_STETH_ABI = Path(__file__).parents[1] / "fixtures" / "abi" / "lido" / "StETH.json"
FEE_ENTRIES = ("getFee", "getFeeDistribution", "TokenRebased")


def _entry(abi: list[dict[str, Any]], name: str) -> tuple[Any, ...]:
    """What makes an ABI entry the same: kind, mutability, inputs and outputs (names, types, indexing)."""
    (entry,) = (e for e in abi if e.get("name") == name)
    fields = ("name", "type", "indexed")
    return (
        entry["type"],
        entry.get("stateMutability"),
        [tuple(i.get(f) for f in fields) for i in entry.get("inputs", [])],
        [tuple(o.get(f) for f in fields) for o in entry.get("outputs", [])],
    )


def test_steth_answers_the_fee_calls_and_event_as_mainnet(lido: LidoDevnet) -> None:
    real = json.loads(REAL_STETH_ABI.read_text())
    ours = contract_artifact("Lido").abi
    assert [_entry(ours, n) for n in FEE_ENTRIES] == [_entry(real, n) for n in FEE_ENTRIES]
    assert lido.steth.functions.getFee().call() == 1000
    # Relative to the fee, as Lido V2's deprecated view: half treasury, no insurance, half node operators.
    assert lido.steth.functions.getFeeDistribution().call() == [5000, 0, 5000]


async def read_lido(client: ChainClient, deployment: Deployment, at: int | str = "latest") -> AdapterResult:
    batcher = Batcher(await client.snapshot(at))
    return await LidoAdapter(deployment).read(batcher.reader("lido"))


def revenue_of(row: Yield, tvl: Decimal) -> tuple[Decimal | None, Decimal | None, str]:
    """The grades' fees and revenue of Lido's one rate on `tvl` USD staked, and the revenue's missing reason."""
    rate = Rate(row.market, row.asset, row.apr, row.apy, row.fee_share)
    sample = MemberSample(Stamp(0, 1, 1), tvl, tvl, (), {YieldKind.STAKING: (rate,)})
    revenue = revenue_rate("lido", sample, None)
    return fee_rate("lido", sample).value, revenue.value, revenue.missing or ""


async def test_an_oracle_report_gives_the_stored_rate_and_fee_share_of_its_event(
    client: ChainClient, deployment: Deployment, lido: LidoDevnet, sender: Sender, tmp_path: Path
) -> None:
    lido.report(sender, cl_balance_delta=41_234_567_891 * 10**9)
    head = sender.w3.eth.block_number
    reports = await rebase_reports(client, deployment, from_block=0, to_block=head)
    report = reports[-1]
    result = await read_lido(client, deployment)
    assert result.yields_unavailable == ()
    repo = Repository.open(f"sqlite:///{tmp_path / 'lido.db'}")
    try:
        repo.save_yields(result.block, result.yields, protocols=["lido"], unavailable=result.yields_unavailable)
        (stored,) = repo.latest_yields(1, "lido")
    finally:
        repo.close()
    row = stored.rate
    # Lido's published figure: the mean of the last 7 reports' userAPR, each from its event's integers.
    apr = sum((user_apr(r) for r in reports[-7:]), Fraction(0)) / 7
    assert (row.kind, row.market, stored.block.number) == (YieldKind.STAKING, lido.steth.address, head)
    assert row.apr == exact_decimal(apr)
    assert row.apy == apr_to_apy(apr, REBASES_PER_YEAR)
    assert row.fee_share is not None
    assert row.fee_share.share == Fraction(1000, 10_000)
    assert "getFee()" in row.fee_share.source
    assert "treasury 5000, insurance 0, operators 5000" in row.fee_share.source
    # The minted fee shares are worth the fee's share of the rewards (Lido's _distributeFee), to rounding.
    minted_value = Fraction(report.shares_minted_as_fees * report.post_total_ether, report.post_total_shares)
    assert abs(minted_value / (report.post_total_ether - report.pre_total_ether) - Fraction(1, 10)) < Fraction(
        1, 10**12
    )
    # The grades now have Lido's fees and revenue: the stakers' net rate grossed up by the 10 % fee.
    fees, revenue, _ = revenue_of(row, Decimal(1_000_000))
    assert fees is not None
    assert fees > 0
    assert revenue == fees / 9


async def rate_at(client: ChainClient, deployment: Deployment, block: int | str = "latest") -> Yield:
    """Lido's one rate read alone at `block` (its positions are not read)."""
    (row,) = await LidoAdapter(deployment).yields(Batcher(await client.snapshot(block)).reader("lido"))
    return row


async def test_a_failed_fee_read_is_missing_with_its_reason(
    client: ChainClient, deployment: Deployment, lido: LidoDevnet, sender: Sender
) -> None:
    before = await rate_at(client, deployment)
    sender.rpc("anvil_setCode", [lido.steth.address, "0x60006000fd"])  # every call to stETH reverts
    sender.rpc("evm_mine", [])
    row = await rate_at(client, deployment)
    assert row.apr == before.apr  # the same report's rate: the event is history, the fee a read that failed
    assert row.fee_share is not None
    assert row.fee_share.share is None
    assert "getFee()" in row.fee_share.source
    assert "failed" in row.fee_share.source
    _, revenue, why = revenue_of(row, Decimal(1_000_000))
    assert revenue is None
    assert "getFee()" in why


async def test_no_report_up_to_a_block_is_a_gap_not_a_zero(
    client: ChainClient, deployment: Deployment, sender: Sender
) -> None:
    unreported = unreported_lido(sender, deployment)
    fresh = unreported.contracts["LidoStETH"]
    result = await read_lido(client, unreported)
    assert result.yields == ()
    (gap,) = result.yields_unavailable
    assert (gap.kind, gap.market) == (YieldKind.STAKING, fresh)
    assert f"no oracle report (TokenRebased) up to block {result.block.number}" in gap.reason
