"""A profile's score kept in the store with what changed since the previous one, and the change log read back.

    changes = record_profile(repo, chain_id, profile)   # the changes stored at the profile's block
    log = change_log(repo, "aave-v3", 1)                 # [(block, Change), ...], oldest first

The previous score is the newest stored before the profile's block; a score equal to it stores its row (the
latest profile) and no change. The stored score document also keeps each contract's control in full (signers, why an
admin is unknown, dependency or own): what the dashboard's risk panel draws beyond the profile's fixed shape.
"""

from __future__ import annotations

from typing import Any, Final

from defiscope.analytics.risk.profile import RiskProfile
from defiscope.analytics.risk.score import Change, changes_between, score_from_json, score_json
from defiscope.store import Repository
from defiscope.store.risk import RiskChange, RiskStore, ScoredBlock

#: Changes a profile document carries (the newest); `/v1/risk/{slug}/history?limit=N` gives up to the API's cap.
PROFILE_CHANGES: Final = 100


def record_profile(repo: Repository, chain_id: int, profile: RiskProfile) -> list[Change]:
    store = RiskStore(repo.engine)
    block = profile.block.number
    previous = store.latest(profile.slug, chain_id, at_or_before=block - 1)
    before = None if previous is None else score_from_json(previous.score)
    changes = changes_between(before, profile.score)
    document: dict[str, Any] = profile.to_json()
    del document["changes"]  # the change log is its own table
    scored = ScoredBlock(
        profile.slug,
        chain_id,
        block,
        profile.score.formula_version,
        profile.score.composite,
        {**score_json(profile.score), "control": stored_control(profile)},
        document,
    )
    store.save(scored, [RiskChange(c.subject, c.input, c.rule, c.before, c.after) for c in changes])
    return changes


def stored_control(profile: RiskProfile) -> list[dict[str, Any]]:
    """Each fixed contract's control in full, then each group of contracts found at run time (with its kind, rule,
    members and whether it is an exception)."""
    surface = profile.surface
    groups = [
        {**group.to_json(), "kind": kind.name, "rule": kind.rule, "of": kind.count}
        for kind in surface.discovered
        for group in kind.groups
    ]
    return [*(c.to_json() for c in surface.contracts), *groups]


def change_log(repo: Repository, slug: str, chain_id: int, limit: int | None = None) -> list[tuple[int, Change]]:
    """The stored changes, oldest first (the newest ``limit``)."""
    return [
        (s.block, Change(s.change.subject, s.change.input, s.change.rule, s.change.before, s.change.after))
        for s in RiskStore(repo.engine).changes(slug, chain_id, limit=limit)
    ]
