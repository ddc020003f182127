"""GET /v1/risk/{slug} and /v1/risk/{slug}/history: risk profiles as `serve` scored and stored them.

    GET /v1/risk/aave-v3?chain=ethereum           the newest profile: the JSON of `defiscope risk profile --json`
    GET /v1/risk/aave-v3/history?limit=50         every stored score change: block, input, rule, before, after
    GET /v1/risk/aave-v3/score                    the same score as the rules saw it: each pillar's rule and inputs,
                                                  the overrides applied, the composite's rule, each contract's control
                                                  in full (Safe signers, why an admin is unknown, dependency or own)

The profile is read from the store (the risk hook scores at blocks where control may have changed, and every few
hours of block time); ``changes`` in it are the change log. Answers are not cached per indexed block: a score is
written after its block is stored. An unknown slug, or one never scored on the chain, is a 404 naming ``slug``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from defiscope.analytics.risk.facts import known_slugs
from defiscope.analytics.risk.history import PROFILE_CHANGES, change_log
from defiscope.analytics.risk.profile import change_json
from defiscope.analytics.risk.score import score_from_json
from defiscope.api import models as m
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.views import chain_slug
from defiscope.store.risk import RiskStore, StoredScore


class ScoreChange(m._Model):
    block: int
    input: str = Field(description="what changed: the pillar's inputs that moved (before -> after), or 'first score'")
    rule: str = Field(description="the rule that set the new score (docs/risk.md)")
    before: int | None = Field(description="score before, 0-100; null: not scored")
    after: int | None = Field(description="score after, 0-100; null: not scored")


class RiskHistory(m._Model):
    slug: str
    chain: str
    changes: list[ScoreChange]


def profile(ctx: ApiContext, slug: str, chain_id: int) -> dict[str, Any]:
    """The newest stored profile, with the newest `PROFILE_CHANGES` of its change log (issue 18's shape)."""
    stored = _latest(ctx, slug, chain_id)
    logged = change_log(ctx.repo, slug, chain_id, PROFILE_CHANGES)
    changes = [change_json(block, change) for block, change in logged]
    return {**stored.profile, "changes": changes}


def score(ctx: ApiContext, slug: str, chain_id: int) -> dict[str, Any]:
    """The newest stored score document (the profile's own block): what the rules read and which override binds.

    ``control`` is null for a score stored before the document kept it."""
    stored = _latest(ctx, slug, chain_id)
    rules = score_from_json(stored.score)
    return {
        "slug": slug,
        "chain": chain_slug(chain_id),
        "block": stored.block.number,
        "formula_version": rules.formula_version,
        "composite": rules.composite,
        "composite_rule": rules.composite_rule,
        "pillars": stored.score["pillars"],
        "overrides": stored.score["overrides"],
        "control": stored.score.get("control"),
    }


def history(ctx: ApiContext, slug: str, chain_id: int, limit: int) -> RiskHistory:
    _known(slug)
    found = change_log(ctx.repo, slug, chain_id, limit)
    return RiskHistory(
        slug=slug,
        chain=chain_slug(chain_id),
        changes=[ScoreChange.model_validate(change_json(block, change)) for block, change in found],
    )


def _latest(ctx: ApiContext, slug: str, chain_id: int) -> StoredScore:
    _known(slug)
    stored = RiskStore(ctx.repo.engine).latest(slug, chain_id)
    if stored is None:
        problem = f"no risk score of {slug!r} stored on {chain_slug(chain_id)} yet: serve scores it as it indexes"
        raise ApiError(404, "slug", problem)
    return stored


def _known(slug: str) -> None:
    known = known_slugs()
    if slug not in known:
        raise ApiError(404, "slug", f"unknown protocol {slug!r} for risk; known: {', '.join(known)}")
