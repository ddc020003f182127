"""Rules as the API and the CLI create, show and change them; both go through here.

    >>> from defiscope.alerts.rules import parse_rule
    >>> spec = parse_rule({"kind": "indexer_health", "params": {"chain": "ethereum"}})
    >>> stored, secret = create(spec, "k1", now=1_700_000_000)
    >>> secret.startswith("whsec_"), stored.chain_id, rule_document(stored)["params"]["max_lag_blocks"]
    (True, 1, 20)

The webhook secret follows Standard Webhooks: `whsec_` and the base64 of 32 random bytes; shown once, at creation.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import replace
from typing import Any, Final

from defiscope.alerts.rules import RuleSpec, confirmations_text, confirmations_value
from defiscope.store.alerts import StoredRule

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_rule_id() -> str:
    return "rul_" + secrets.token_hex(10)


def new_rule(spec: RuleSpec, owner: str, *, now: int | None = None) -> tuple[StoredRule, str]:
    """A new rule of `owner` and its webhook secret (kept with the rule; the caller shows it once)."""
    at = int(time.time()) if now is None else now
    secret = new_secret()
    return StoredRule(new_rule_id(), owner, spec.kind, spec.params.chain_id, {}, "0", 0, [], secret, at, at), secret


def with_spec(rule: StoredRule, spec: RuleSpec, *, now: int | None = None) -> StoredRule:
    """`rule` carrying what `spec` says (kind, chain, params, confirmations, cool-down, channels)."""
    return replace(
        rule,
        kind=spec.kind,
        chain_id=spec.params.chain_id,
        params=spec.params.model_dump(mode="json", exclude_none=True),
        confirmations=confirmations_text(spec.confirmations),
        cooldown_blocks=spec.cooldown_blocks,
        channels=[{"type": c.type, "target": c.target} for c in spec.channels],
        updated_at=int(time.time()) if now is None else now,
    )


def create(spec: RuleSpec, owner: str, *, now: int | None = None) -> tuple[StoredRule, str]:
    rule, secret = new_rule(spec, owner, now=now)
    return with_spec(rule, spec, now=rule.created_at), secret


def rule_document(rule: StoredRule) -> dict[str, Any]:
    """A rule as shown to its owner: everything but the secret."""
    return {
        "id": rule.id,
        "kind": rule.kind,
        "chain_id": rule.chain_id,
        "params": rule.params,
        "confirmations": confirmations_value(rule.confirmations),
        "cooldown_blocks": rule.cooldown_blocks,
        "channels": rule.channels,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }
