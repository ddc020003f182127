"""The pillar rules, the composite, its overrides and the change log, on inputs built by hand (pure: no chain)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from defiscope.analytics.risk import exposure, health, rules, score
from defiscope.analytics.risk.exposure import economic_exposure, oracle_dependence, source_kind
from defiscope.analytics.risk.facts import parse_facts
from defiscope.analytics.risk.health import GovernanceHealth, no_governance
from defiscope.analytics.risk.rules import (
    DAY,
    PillarScore,
    code_pillar,
    contract_score,
    control_pillar,
    economic_pillar,
    governance_pillar,
    incidents_pillar,
    oracle_pillar,
)
from defiscope.analytics.risk.score import (
    FORMULA_VERSION,
    WEIGHTS,
    changes_between,
    compose,
    score_from_json,
    score_json,
)
from defiscope.chain.block import BlockRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.bad_debt import BadDebt
from defiscope.protocols.base import BalanceKind, CallRecord
from defiscope.protocols.control.admin import AdminLink, PendingOwner
from defiscope.protocols.control.profile import ContractControl, PausePower
from defiscope.protocols.control.proxy import ProxyInfo
from defiscope.tvl.model import ProtocolSnapshot, TokenValue
from tests.purity import imported_modules

PROXY, ADMIN, EOA, SAFE, LOCK, GOV = (f"0x{i:040x}" for i in range(1, 7))
NOW = 1_796_688_000  # 2026-12-07
BLOCK = BlockRef(chain_id=1, number=100, hash="0x" + "ab" * 32, timestamp=NOW)


def contract(kind: str, *chain: AdminLink, name: str = "Pool", dependency: bool = False) -> ContractControl:
    info = ProxyInfo(PROXY, kind, kind, implementation=None if kind == "none" else ADMIN, admin_why="not found")  # type: ignore[arg-type]
    return ContractControl(name, "x/I", dependency, info, tuple(chain), (), ())


def eoa(address: str = EOA) -> AdminLink:
    return AdminLink(address, "eoa")


def timelock(delay: int) -> AdminLink:
    return AdminLink(LOCK, "timelock", delay_seconds=delay, controllers=(GOV,))


def safe(threshold: int, signers: int = 5) -> AdminLink:
    return AdminLink(SAFE, "multisig", threshold=threshold, signers=tuple(f"0x{i:040x}" for i in range(signers)))


# --- control ---------------------------------------------------------------------------------------------------


def test_an_eoa_that_upgrades_without_delay_scores_10_and_caps_the_composite() -> None:
    pool = contract("transparent", AdminLink(ADMIN, "contract", controllers=(EOA,)), eoa())
    assert contract_score(pool)[:2] == (10, "control.eoa-no-delay")
    pillars = _pillars(control=control_pillar([pool]))
    result = compose(pillars, [pool])
    assert [o.rule for o in result.overrides] == ["override.eoa-upgrade-no-delay"]
    assert result.composite == 30  # the weighted mean is higher; the cap binds
    assert result.composite_rule == "override.eoa-upgrade-no-delay"


def test_a_nominee_not_yet_accepted_scores_the_weaker_of_the_two_chains() -> None:
    """Its own accept is all it needs: an EOA nominated by a Safe scores as the EOA; a Safe nominated by an EOA
    changes nothing but the evidence; behind a timelock the nominee still waits for it."""
    nominee = PendingOwner("pendingOwner()(address)", EOA, eoa())
    pool = replace(contract("transparent", safe(4)), pending=nominee)
    score_, rule, why = contract_score(pool)
    assert (score_, rule) == (10, "control.pending-owner")
    assert why.startswith(f"pendingOwner() {EOA}, not yet accepted, may take over at any block: then ends at eoa")
    assert [o.rule for o in score.overrides_of([pool])] == ["override.eoa-upgrade-no-delay"]
    stronger = replace(contract("transparent", eoa()), pending=PendingOwner("pendingOwner()(address)", SAFE, safe(4)))
    assert contract_score(stronger)[:2] == (10, "control.eoa-no-delay")
    assert f"pending owner multisig {SAFE} (pendingOwner(), not yet accepted)" in contract_score(stronger)[2]
    lock = replace(timelock(2 * DAY), pending=PendingOwner("pendingAdmin()(address)", EOA, eoa()))
    behind = contract("transparent", lock, AdminLink(GOV, "governor"))
    assert contract_score(behind)[:2] == (10 + 30, "control.pending-owner")  # the 2-day delay still counts
    assert score.overrides_of([behind]) == ()
    unclassified = replace(contract("none", safe(4)), pending=PendingOwner("pendingOwner()(address)", ADMIN, None))
    assert contract_score(unclassified)[:2] == (0, "control.unknown-admin")  # never taken as safe
    understood_not = PendingOwner("pendingOwner()(address)", ADMIN, AdminLink(ADMIN, "unknown", why="odd"))
    assert contract_score(replace(unclassified, pending=understood_not))[:2] == (0, "control.unknown-admin")


def test_a_conditional_aragon_holder_is_named_in_the_evidence() -> None:
    acl = AdminLink(ADMIN, "contract", controllers=(GOV, EOA), conditional=((EOA, 2),))
    app = contract("custom", acl, eoa())
    assert contract_score(app)[:2] == (10, "control.eoa-no-delay")
    note = f"conditional holder {EOA} at {ADMIN} (2 parameters; counted: a condition can be met)"
    assert note in contract_score(app)[2]
    assert note in rules.describe_chain(app)


def test_a_timelock_in_front_of_the_eoa_earns_its_delay_and_lifts_the_cap() -> None:
    pool = contract("transparent", timelock(2 * DAY), eoa())
    assert contract_score(pool)[:2] == (40, "control.eoa-delay")  # 10 + 30 for two days
    assert compose(_pillars(control=control_pillar([pool])), [pool]).overrides == ()


@pytest.mark.parametrize(
    ("chain", "points", "rule"),
    [
        ((timelock(7 * DAY), AdminLink(GOV, "governor")), 100, "control.governor-delay"),
        ((timelock(DAY), AdminLink(GOV, "governor")), 80, "control.governor-delay"),
        ((safe(3),), 40, "control.multisig-no-delay"),
        ((safe(2),), 30, "control.multisig-no-delay"),
        ((timelock(3600), safe(4)), 50, "control.multisig-delay"),
    ],
)
def test_end_and_delay_points(chain: tuple[AdminLink, ...], points: int, rule: str) -> None:
    assert contract_score(contract("transparent", *chain))[:2] == (points, rule)


def test_an_unknown_admin_is_scored_as_unknown_never_safe() -> None:
    unknown = AdminLink(ADMIN, "unknown", why="answers none of the probes")
    pool = contract("transparent", timelock(30 * DAY), unknown)
    score_, rule, why = contract_score(pool)
    assert (score_, rule) == (0, "control.unknown-admin")
    assert "not understood" in why
    # A proxy whose admin was not found at all is unknown too, not "no admin".
    assert contract_score(contract("eip1967"))[:2] == (0, "control.unknown-admin")
    result = compose(_pillars(control=control_pillar([pool])), [pool])
    assert [(o.rule, o.cap) for o in result.overrides] == [("override.unknown-admin", 40)]
    assert result.composite == 40


def test_immutable_and_renounced_contracts_score_100_and_dependencies_do_not_count() -> None:
    assert contract_score(contract("none"))[:2] == (100, "control.no-admin")
    renounced = AdminLink(ADMIN, "contract", controllers=("0x" + "00" * 20,))
    assert contract_score(contract("none", renounced))[:2] == (100, "control.renounced")
    weak_token = contract("transparent", eoa(), name="USDC", dependency=True)
    pillar = control_pillar([contract("none"), weak_token])
    assert (pillar.score, pillar.rule) == (100, "control.no-admin")
    assert list(pillar.inputs) == [f"Pool ({PROXY}).admin_chain", "pause"]
    assert compose(_pillars(control=pillar), [weak_token]).overrides == ()  # not its own control


def test_the_control_pillar_is_the_weakest_contract() -> None:
    strong = contract("transparent", timelock(7 * DAY), AdminLink(GOV, "governor"), name="Strong")
    weak = contract("transparent", safe(2), name="Weak")
    pillar = control_pillar([strong, weak])
    assert (pillar.score, pillar.rule) == (30, "control.multisig-no-delay")
    assert pillar.evidence.startswith("weakest of 2 contracts: Weak")
    assert set(pillar.inputs) == {f"Strong ({PROXY}).admin_chain", f"Weak ({PROXY}).admin_chain", "pause"}


# --- code & audits, incidents ----------------------------------------------------------------------------------

FACTS = """
checked = "2026-12-07"
[[audits]]
auditor = "A"
date = "2025-06-01"
scope = "core"
link = "https://example.org/a.pdf"
source = "https://example.org/"
[[audits]]
auditor = "B"
date = "2020-01"
scope = "core"
link = "https://example.org/b.pdf"
source = "https://example.org/"
[[incidents]]
date = "2026-03-01"
loss_usd = 12000000
cause = "oracle"
link = "https://example.org/i"
source = "https://example.org/"
[[incidents]]
date = "2021-01-01"
loss_usd = 2000000
cause = "bug"
link = "https://example.org/j"
source = "https://example.org/"
[[incidents]]
date = "2024-01"
loss_why = "estimates disagree"
cause = "key"
link = "https://example.org/k"
source = "https://example.org/"
[[insurance]]
provider = "Nexus"
capacity_usd = 5000000
source = "https://example.org/"
[bounty]
platform = "Immunefi"
max_payout_usd = 250000
source = "https://example.org/"
"""


def test_code_pillar_counts_auditors_recency_and_bounty() -> None:
    facts = parse_facts("x", FACTS)
    pillar = code_pillar(facts, NOW)
    assert pillar.score == 2 * 15 + 20 + 10  # two auditors, newest within two years, bounty >= $100k
    assert pillar.rule == "code.audits-and-bounty"
    assert code_pillar(facts, NOW + 3 * 365 * DAY).score == 2 * 15 + 5 + 10  # the newest audit grew old
    bare = code_pillar(parse_facts("x", 'checked = "2026-12-07"'), NOW)
    assert (bare.score, bare.rule) == (0, "code.no-audits")


def test_incidents_penalise_losses_unknown_loss_as_worst_and_halve_old_ones() -> None:
    pillar = incidents_pillar(parse_facts("x", FACTS), NOW)
    # $12M recent: 40; $2M over three years old: 25 // 2 = 12; unknown loss: 40; cover available: +10.
    assert pillar.score == 100 - 40 - 12 - 40 + 10
    assert pillar.rule == "incidents.losses"
    clean = incidents_pillar(parse_facts("x", 'checked = "2026-12-07"'), NOW)
    assert (clean.score, clean.rule) == (100, "incidents.none-recorded")


# --- oracle dependence, economic -------------------------------------------------------------------------------


def _token(symbol: str, usd: int | None, source: str | None, kind: BalanceKind = BalanceKind.TVL) -> TokenValue:
    price = None if source is None else PriceQuote(1, f"0x{len(symbol):040x}", Decimal(1), source, NOW, 0.9)
    value = None if usd is None else Decimal(usd)
    return TokenValue(f"0x{len(symbol):040x}", symbol, 18, kind, 10**18, price, value, None if value else "no price")


def _snapshot(*tokens: TokenValue, calls: tuple[CallRecord, ...] = ()) -> ProtocolSnapshot:
    return ProtocolSnapshot("x", 1, BLOCK, tokens, calls)


def test_source_kinds() -> None:
    assert [source_kind(s) for s in ("chainlink:ETH/USD", "derived:wstETH", "coingecko", "uniswap-v3:0xP:twap")] == [
        "chainlink",
        "derived",
        "offchain-api",
        "dex",
    ]


def test_oracle_dependence_lists_feeds_single_source_share_and_the_adapters_oracles() -> None:
    oracle_call = CallRecord("0xOracle", "getAssetPrice(address)(uint256)", ("0xWETH",), 3000)
    snap = _snapshot(
        _token("WETH", 600, "chainlink:ETH/USD"),
        _token("DAI", 300, "uniswap-v3:0xPool:twap"),
        _token("USDC", 100, "chainlink:USDC/USD"),
        _token("ODD", None, None),
        calls=(oracle_call, CallRecord("0xPool", "getReserves()", (), [1, 2])),
    )
    found = oracle_dependence(snap)
    assert found.feeds[0] == ("chainlink:ETH/USD", Decimal(600))
    assert (found.single_source_share, found.share_of("dex"), found.unpriced) == (Fraction(3, 5), Fraction(3, 10), 1)
    assert found.adapter_oracles == ("0xOracle getAssetPrice(address)(uint256)",)
    assert found.kinds == ("chainlink", "dex")
    pillar = oracle_pillar(found)
    # DEX share 30 % of 40 = 12; one feed above half: 20; reads an oracle itself: 20; unpriced: 10.
    assert pillar.score == 100 - 12 - 20 - 20 - 10
    assert pillar.rule in ("oracle.single-source", "oracle.protocol-reads-oracle")
    assert oracle_pillar(None).score is None


def test_economic_pillar_from_largest_asset_and_utilisation() -> None:
    lending = _snapshot(
        _token("WETH", 600, "chainlink:ETH/USD"),
        _token("DAI", 400, "chainlink:DAI/USD"),
        _token("WETH", 9000, "chainlink:ETH/USD", BalanceKind.BORROWED),
    )
    economy = economic_exposure(lending)
    assert economy.largest == ("WETH", Fraction(3, 5))
    assert economy.utilisation == Fraction(9, 10)
    pillar = economic_pillar(economy)
    assert pillar.score == 20 + 30  # 60 % in one asset; 90 % utilised
    assert "bad debt: not read" in pillar.evidence
    dex = economic_pillar(economic_exposure(_snapshot(*(_token(s, 100, "chainlink:X") for s in ("A", "BB", "CCC")))))
    assert (dex.score, dex.inputs["utilisation"]) == (50 + 50, "n/a")
    assert economic_pillar(None).score is None


# --- governance ------------------------------------------------------------------------------------------------


def test_governance_pillar_adds_concentration_quorum_reach_and_timelock() -> None:
    good = GovernanceHealth("x", nakamoto=12, top5_share=Fraction(2, 5), decided=10, reached=8, timelock_delay=2 * DAY)
    assert governance_pillar(good).score == 40 + 20 + 16 + 20
    captured = GovernanceHealth("x", nakamoto=1, top5_share=Fraction(9, 10), decided=4, reached=4, timelock_delay=0)
    pillar = governance_pillar(captured)
    assert (pillar.score, pillar.rule) == (20, "governance.concentration")


def test_unknown_voting_power_and_no_decided_proposals_earn_nothing() -> None:
    unknown = GovernanceHealth("aave", concentration_why="voting machines", timelock_delay=DAY)
    pillar = governance_pillar(unknown)
    assert pillar.score == 10  # the timelock's only
    assert "voting power unknown (voting machines)" in pillar.evidence


def test_frequent_control_changes_cost_points_and_no_governance_is_not_scored() -> None:
    churn = GovernanceHealth("x", nakamoto=5, top5_share=Fraction(1, 2), proposals=4, control_changes=3)
    assert (governance_pillar(churn).score, governance_pillar(churn).rule) == (30 + 20 - 10, "governance.control-churn")
    none = governance_pillar(no_governance("no governor followed", 3600))
    assert (none.score, none.rule) == (None, "governance.none-followed")


# --- composite and changes -------------------------------------------------------------------------------------


def _pillars(**scores: PillarScore) -> list[PillarScore]:
    names = {"control": "control", "code": "code & audits", "oracle": "oracle dependence"}
    given = {names.get(k, k): v for k, v in scores.items()}
    return [given.get(name, PillarScore(name, 80, f"{name}.test", "fixed")) for name in WEIGHTS]


def test_composite_is_the_weighted_mean_over_scored_pillars() -> None:
    assert sum(WEIGHTS.values()) == 100
    pillars = _pillars(control=PillarScore("control", 50, "r", "e"), economic=PillarScore("economic", None, "r", "e"))
    result = compose(pillars, [])
    # (30 * 50 + 55 * 80) / 85 = 69.41...
    assert (result.composite, result.formula_version) == (69, FORMULA_VERSION)
    assert compose([PillarScore(n, None, "r", "e") for n in WEIGHTS], []).composite is None
    with pytest.raises(ValueError, match="one of each pillar"):
        compose(pillars[:-1], [])


def test_changes_name_the_input_that_moved_and_the_rule() -> None:
    before_pool = contract("transparent", timelock(2 * DAY), AdminLink(GOV, "governor"))
    after_pool = contract("transparent", AdminLink(ADMIN, "contract", controllers=(EOA,)), eoa())
    before = compose(_pillars(control=control_pillar([before_pool])), [before_pool])
    after = compose(_pillars(control=control_pillar([after_pool])), [after_pool])
    (first,) = changes_between(None, before)
    assert (first.input, first.before, first.after) == ("first score", None, before.composite)
    control, composite = changes_between(before, after)
    assert (control.subject, control.rule, control.before, control.after) == ("control", "control.eoa-no-delay", 90, 10)
    assert control.input.startswith(f"control/Pool ({PROXY}).admin_chain: transparent proxy; timelock")
    assert "-> transparent proxy; contract" in control.input
    assert (composite.subject, composite.rule, composite.after) == ("composite", "override.eoa-upgrade-no-delay", 30)
    assert "override.eoa-upgrade-no-delay toggled" in composite.input
    assert changes_between(after, after) == []
    # The stored form compares the same.
    assert changes_between(score_from_json(score_json(after)), after) == []


def test_score_modules_do_no_io() -> None:
    io = {"httpx", "sqlalchemy", "socket", "defiscope.store", "defiscope.chain.client", "defiscope.chain.reader"}
    for module in (rules, score, exposure, health):
        imported = imported_modules(Path(str(module.__file__)))
        assert not {m for m in imported if any(m == p or m.startswith(p + ".") for p in io)}, module.__name__


# --- pause powers ------------------------------------------------------------------------------------------------


def paused(pool: ContractControl, *powers: PausePower) -> ContractControl:
    return replace(pool, pause=powers)


def guardian(*chain: AdminLink, why: str | None = None) -> PausePower:
    holders = () if why is not None else (chain[0].address,)
    return PausePower("pause", holders, "pauseGuardian", why=why, holder_chains=() if why else (chain,))


@pytest.mark.parametrize(
    ("holder", "points", "rule"),
    [
        ((safe(3),), 50, "control.multisig-no-delay"),  # 40 + 10: a Safe acts fast with several keys
        ((timelock(DAY), AdminLink(GOV, "governor")), 45, "control.multisig-no-delay"),
        ((eoa(),), 40, "control.multisig-no-delay"),  # protective, but one key: no points
        ((AdminLink(ADMIN, "unknown", why="no probe answered"),), 20, "control.pause-unknown"),
        ((eoa(), AdminLink(ADMIN, "unknown", why="?")), 20, "control.pause-unknown"),
    ],
)
def test_who_can_pause_moves_the_control_pillar(holder: tuple[AdminLink, ...], points: int, rule: str) -> None:
    pool = paused(contract("transparent", safe(3)), guardian(*holder))
    pillar = control_pillar([pool])
    assert (pillar.score, pillar.rule) == (points, rule)
    assert pillar.inputs["pause"].startswith("weakest pause holder: Pool pause:")


def test_a_pause_power_not_read_is_unknown_and_the_weakest_holder_counts() -> None:
    unread = paused(contract("transparent", safe(3)), guardian(why="pauseGuardian() failed: reverted"))
    assert (control_pillar([unread]).score, control_pillar([unread]).rule) == (20, "control.pause-unknown")
    both = paused(contract("transparent", safe(3)), guardian(safe(4)), guardian(eoa()))
    assert control_pillar([both]).score == 40  # the EOA's 0, not the Safe's 10
    assert control_pillar([contract("transparent", safe(3))]).inputs["pause"] == "no pause power held (+0)"


def test_a_pause_power_does_not_lift_an_unknown_admin_and_dss_auth_is_not_a_pause() -> None:
    unknown = paused(contract("eip1967"), guardian(safe(5)))
    assert (control_pillar([unknown]).score, control_pillar([unknown]).rule) == (0, "control.unknown-admin")
    wards = PausePower("auth: cage, rely, file", (ADMIN,), "wards", holder_chains=((AdminLink(ADMIN, "unknown"),),))
    vat = paused(contract("transparent", safe(3)), wards)
    assert control_pillar([vat]).score == 40


# --- bad debt --------------------------------------------------------------------------------------------------

WETH_ADDRESS = f"0x{4:040x}"  # `_token`'s address for "WETH" (priced $1 a unit of 10**18)


@pytest.mark.parametrize(
    ("debts", "points", "rule", "said"),
    [
        ((BadDebt("Comet", WETH_ADDRESS, 200 * 10**18),), 50 - 40, "economic.bad-debt", "bad debt $200.00 (2.0%"),
        ((BadDebt("Comet", WETH_ADDRESS, 5 * 10**18),), 50 - 10, "economic.asset-concentration", "$5.00 (0.1%"),
        ((BadDebt("Comet", WETH_ADDRESS, 0),), 50, "economic.asset-concentration", "bad debt $0.00 (0.0%"),
        ((BadDebt("Comet", f"0x{99:040x}", 1),), 50 - 40, "economic.bad-debt", "bad debt not priced: Comet 1 of"),
        (
            (BadDebt("Pool", WETH_ADDRESS, None, "getReserveDeficit failed: reverted"),),
            50,
            "economic.asset-concentration",
            "bad debt: not read, not scored; not read: Pool: getReserveDeficit failed",
        ),
    ],
)
def test_bad_debt_takes_economic_points_by_its_share_of_what_is_supplied(
    debts: tuple[BadDebt, ...], points: int, rule: str, said: str
) -> None:
    lending = _snapshot(
        _token("WETH", 600, "chainlink:ETH/USD"),
        _token("DAI", 400, "chainlink:DAI/USD"),
        _token("WETH", 9000, "chainlink:ETH/USD", BalanceKind.BORROWED),
    )  # 20 + 30 without bad debt; 10,000 USD supplied
    pillar = economic_pillar(economic_exposure(lending, debts))
    assert (pillar.score, pillar.rule) == (points, rule)
    assert said in pillar.evidence
    assert said in pillar.inputs["bad_debt"]


def test_bad_debt_not_exposed_is_not_read_never_zero() -> None:
    economy = economic_exposure(_snapshot(_token("WETH", 600, "chainlink:ETH/USD")), None)
    assert (economy.bad_debt, economy.bad_debt_share) == (None, None)
    pillar = economic_pillar(economy)
    assert "bad debt: not read (no contract of it exposes it)" in pillar.evidence
    assert "bad_debt" not in pillar.inputs
