"""GET /v1/health from memory: the latest stored blocks as the response cache last read them, and, when this
process indexes, the indexer's own progress (head time, last error). No database query per call.

A chain is *stale* when its last indexed block is more than `ApiSettings.health_max_lag` seconds older than
the head block, or its indexer has failed for that long; *syncing* while it catches up after a start. Lag is
measured in chain time, not blocks: a devnet mines many blocks a second, so a block count alone would flap.
The answer is 503 (with Retry-After) when any chain is stale or catching up beyond the lag.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from defiscope.api import models as m
from defiscope.api.context import ApiContext, ChainProgress
from defiscope.api.views import chain_slug
from defiscope.chain.block import BlockRef
from defiscope.chain.errors import redact_urls_in

#: Seconds a load balancer should wait before asking an unhealthy server again.
RETRY_AFTER: Final = "30"
#: The last error is one line in the answer: long texts are cut.
MAX_ERROR_CHARS: Final = 300

State = Literal["ok", "stale", "syncing", "unknown"]


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    status_code: int
    body: m.Health


def chain_health(
    chain_id: int,
    stored: BlockRef,
    head: int | None,
    progress: ChainProgress | None,
    gaps: list[m.IndexGap],
    now: float,
    max_lag: float,
) -> m.ChainHealth:
    # The indexer's own last block is newer than the cache's view of the store (read at most every ttl).
    block = progress.last_indexed if progress and progress.last_indexed else stored
    behind = None
    failing = None
    state: State = "unknown"
    error = None
    if progress is not None:
        if progress.head_time is not None:
            behind = max(0, progress.head_time - block.timestamp)
        if progress.failing_since is not None:
            failing = max(0, int(now - progress.failing_since))
        if progress.last_error:
            error = redact_urls_in(progress.last_error)[:MAX_ERROR_CHARS]
        late = (behind is not None and behind > max_lag) or (failing is not None and failing > max_lag)
        state = "syncing" if progress.catching_up else "stale" if late else "ok"
    return m.ChainHealth(
        chain=chain_slug(chain_id),
        chain_id=chain_id,
        last_block=block.number,
        block_timestamp=block.timestamp,
        lag_seconds=max(0, int(now) - block.timestamp),
        head_block=head,
        lag_blocks=None if head is None else max(0, head - block.number),
        gaps=gaps,
        state=state,
        behind_seconds=behind,
        failing_seconds=failing,
        last_error=error,
    )


def health(ctx: ApiContext, stored: Mapping[int, BlockRef], now: float | None = None) -> HealthAnswer:
    """The health document over `stored` (the cache's latest blocks) and the live indexer, if any."""
    now = time.time() if now is None else now
    max_lag = ctx.settings.health_max_lag
    live = ctx.live
    heads = live.heads() if live else {}
    gaps = live.gaps() if live and live.gaps else {}
    progress = live.progress() if live and live.progress else {}
    chains = [
        chain_health(
            chain_id,
            block,
            heads.get(chain_id),
            progress.get(chain_id),
            [m.IndexGap(from_block=a, to_block=b, blocks=n, reason=why) for a, b, n, why in gaps.get(chain_id, ())],
            now,
            max_lag,
        )
        for chain_id, block in sorted(stored.items())
    ]
    # A followed chain with nothing stored yet is still at its first catch-up.
    unstored = [p for cid, p in progress.items() if cid not in stored]
    late = [c for c in chains if c.behind_seconds is not None and c.behind_seconds > max_lag]
    failing_long = any(c.failing_seconds is not None and c.failing_seconds > max_lag for c in chains) or any(
        p.failing_since is not None and now - p.failing_since > max_lag for p in unstored
    )
    status: Literal["ok", "empty", "stale", "syncing"]
    if unstored or any(c.state == "syncing" for c in chains):
        status = "syncing"
    elif late or failing_long:
        status = "stale"
    else:
        status = "ok" if chains else "empty"
    unhealthy = bool(late) or failing_long
    network = ctx.network if ctx.network in ("mainnet", "devnet") else None
    body = m.Health(status=status, time=int(now), network=network, chains=chains)  # type: ignore[arg-type]
    return HealthAnswer(503 if unhealthy else 200, body)
