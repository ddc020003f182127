"""Risk scores and their change log in the store: a profile recorded with what moved since the previous score,
replaced per block, refused for an unstored block, dropped with its block on a reorg; both backends."""

from __future__ import annotations

import pytest

from defiscope.analytics.risk.facts import load_facts
from defiscope.analytics.risk.health import no_governance
from defiscope.analytics.risk.history import change_log, record_profile
from defiscope.analytics.risk.profile import RiskProfile, score_profile
from defiscope.protocols.control.admin import AdminLink
from defiscope.protocols.control.profile import ContractControl, ControlSurface
from defiscope.protocols.control.proxy import ProxyInfo
from defiscope.store import Repository
from defiscope.store.risk import RiskStore, UnstoredRiskBlock
from tests.store.storekit import block, make_snapshot

POOL, ADMIN, EOA, LOCK = (f"0x{i:040x}" for i in range(1, 5))


def _profile(number: int, *chain: AdminLink) -> RiskProfile:
    proxy = ProxyInfo(POOL, "transparent", "eip1967-admin-slot", ADMIN, chain[0].address)
    pool = ContractControl("Pool", "aave/IPool", False, proxy, chain, (), ())
    surface = ControlSurface("aave-v3", 1, number, (pool,), ())
    facts = load_facts("aave-v3")
    health = no_governance("none followed in this test", None)
    ref = block(number)
    score = score_profile(surface, facts, health, None, ref.timestamp)
    return RiskProfile("aave-v3", ref, surface, facts, health, score)


def test_profiles_store_their_changes_and_read_back(repo: Repository) -> None:
    for number in (100, 101, 102):
        repo.save_snapshot(make_snapshot(ref=block(number)))
    timelocked = (AdminLink(LOCK, "timelock", delay_seconds=7 * 86400, controllers=(EOA,)), AdminLink(EOA, "eoa"))
    (first,) = record_profile(repo, 1, _profile(100, *timelocked))
    assert (first.input, first.before) == ("first score", None)
    assert record_profile(repo, 1, _profile(101, *timelocked)) == []  # unchanged: the row, no change
    moved = record_profile(repo, 1, _profile(102, AdminLink(EOA, "eoa")))
    assert [c.subject for c in moved] == ["control", "composite"]
    log = change_log(repo, "aave-v3", 1)
    assert [(b, c.subject) for b, c in log] == [(100, "composite"), (102, "control"), (102, "composite")]
    control = log[1][1]
    assert (control.rule, control.before, control.after) == ("control.eoa-no-delay", 50, 10)
    assert f"control/Pool ({POOL}).admin_chain" in control.input
    assert log[2][1].rule == "override.eoa-upgrade-no-delay"
    stored = RiskStore(repo.engine).latest("aave-v3", 1)
    assert stored is not None
    assert (stored.block.number, stored.composite) == (102, 30)
    store = RiskStore(repo.engine)
    assert (store.latest_time(1, 101), store.latest_time(1, 99)) == (block(101).timestamp, None)
    assert store.scored_slugs(1) == ["aave-v3"]
    assert stored.profile["pillars"][0] == {
        "name": "control",
        "score": 10,
        "weight": 30,
        "evidence": stored.profile["pillars"][0]["evidence"],
    }
    assert "changes" not in stored.profile
    # Scoring a block again replaces its row and its changes.
    record_profile(repo, 1, _profile(102, AdminLink(EOA, "eoa")))
    assert len(change_log(repo, "aave-v3", 1)) == 3
    assert [c.subject for _, c in change_log(repo, "aave-v3", 1, limit=1)] == ["composite"]


def test_a_score_needs_its_block_and_a_reorg_drops_it(repo: Repository) -> None:
    with pytest.raises(UnstoredRiskBlock, match="no stored block 100"):
        record_profile(repo, 1, _profile(100, AdminLink(EOA, "eoa")))
    for number in (100, 101):
        repo.save_snapshot(make_snapshot(ref=block(number)))
    record_profile(repo, 1, _profile(100, AdminLink(LOCK, "timelock", delay_seconds=86400, controllers=(EOA,))))
    record_profile(repo, 1, _profile(101, AdminLink(EOA, "eoa")))
    assert len(change_log(repo, "aave-v3", 1)) == 3
    repo.rollback_from(1, 101)
    assert [b for b, _ in change_log(repo, "aave-v3", 1)] == [100]
    latest = RiskStore(repo.engine).latest("aave-v3", 1)
    assert latest is not None
    assert latest.block.number == 100
