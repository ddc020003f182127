"""While `serve` is still syncing, a figure that does not exist yet is a 503 saying so, not a 404 nor a 0.

    raise not_ready(ctx, "slug", "protocol 'aave-v3'") or unknown   # 503 while syncing, else the 404

Lists answer what the store holds (possibly nothing); a single figure a client names (a protocol's TVL, the
block at a time) answers 503 with `Retry-After` and `{"status": "syncing", "error": {...}, "chains": [...]}`
(each syncing chain's phase, percent and ETA), so that a DefiLlama-style client retries instead of caching a
"not found".
"""

from __future__ import annotations

from typing import Any, Final

from defiscope.api.context import ApiContext
from defiscope.api.errors import NotReady
from defiscope.chain.registry import CHAINS

#: Bounds of the Retry-After of a syncing answer (seconds): the ETA, within these.
RETRY_MIN: Final = 5
RETRY_MAX: Final = 60


def syncing_chains(ctx: ApiContext) -> list[dict[str, Any]]:
    """Each chain this server is still discovering or catching up: chain, phase, percent, ETA."""
    live = ctx.live
    if live is None or live.progress is None:
        return []
    return [
        {
            "chain": CHAINS[chain_id].name if chain_id in CHAINS else str(chain_id),
            "chain_id": chain_id,
            "phase": p.sync.phase,
            "percent": p.sync.percent,
            "eta_seconds": p.sync.eta_seconds,
        }
        for chain_id, p in sorted(live.progress().items())
        if p.sync is not None and p.sync.syncing
    ]


def not_ready(ctx: ApiContext, field: str, what: str) -> NotReady | None:
    """A 503 for `what` while any chain syncs; None once every chain follows its head."""
    chains = syncing_chains(ctx)
    if not chains:
        return None
    etas = [c["eta_seconds"] for c in chains if c["eta_seconds"] is not None]
    retry = min(RETRY_MAX, max(RETRY_MIN, max(etas, default=RETRY_MIN)))
    states = ", ".join(
        f"{c['chain']} {c['phase'].replace('_', ' ')}" + ("" if c["percent"] is None else f" {c['percent']}%")
        for c in chains
    )
    return NotReady(field, f"{what} is not indexed yet: this server is syncing ({states}); retry later", chains, retry)
