"""GET /v1/health from memory: the latest stored blocks as the response cache last read them, and, when this
process indexes, the indexer's own progress (head time, last error, sync phase). No database query per call.

A chain is *syncing* while it discovers (its first snapshot) or catches up after a start: 200, with its
`progress` (phase, percent, done of total, moving rate, ETA); a chain listed before anything of it is stored
has a null `last_block`. Once at the head it is *ok*, or *stale* when its last indexed block is more than
`ApiSettings.health_max_lag` seconds older than the head block, or its indexer has failed for that long. A
syncing chain is stale only when it stopped progressing: failing for longer than the lag, or, catching up,
no block indexed for that long (a discovery's first read of a large protocol may legitimately take longer).
Lag is measured in chain time, not blocks: a devnet mines many blocks a second, so a block count would flap.
The answer is 503 (with Retry-After) when any chain is stale.
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
from defiscope.service.progress import SyncProgress

#: Seconds a load balancer should wait before asking an unhealthy server again.
RETRY_AFTER: Final = "30"
#: The last error is one line in the answer: long texts are cut.
MAX_ERROR_CHARS: Final = 300

State = Literal["ok", "stale", "syncing", "unknown"]


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    status_code: int
    body: m.Health


def sync_info(sync: SyncProgress, now: float) -> m.SyncInfo:
    return m.SyncInfo(
        phase=sync.phase,
        percent=sync.percent,
        done=sync.done,
        total=sync.total,
        rate=None if sync.rate is None else round(sync.rate, 3),
        eta_seconds=sync.eta_seconds,
        started_at=int(sync.started_at),
        stalled_seconds=max(0, int(now - sync.advanced_at)),
    )


def _state(
    progress: ChainProgress, indexed: bool, behind: int | None, failing: int | None, now: float, max_lag: float
) -> State:
    sync = progress.sync
    failing_long = failing is not None and failing > max_lag
    if sync is not None and sync.syncing:
        stalled = sync.phase == "catching_up" and now - sync.advanced_at > max_lag
        return "stale" if failing_long or stalled else "syncing"
    if not indexed and sync is None:
        return "stale" if failing_long else "syncing"  # followed, nothing indexed yet, no progress model
    return "stale" if failing_long or (behind is not None and behind > max_lag) else "ok"


def chain_health(
    chain_id: int,
    stored: BlockRef | None,
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
        if progress.head_time is not None and block is not None:
            behind = max(0, progress.head_time - block.timestamp)
        if progress.failing_since is not None:
            failing = max(0, int(now - progress.failing_since))
        if progress.last_error:
            error = redact_urls_in(progress.last_error)[:MAX_ERROR_CHARS]
        state = _state(progress, block is not None, behind, failing, now, max_lag)
    return m.ChainHealth(
        chain=chain_slug(chain_id),
        chain_id=chain_id,
        last_block=None if block is None else block.number,
        block_timestamp=None if block is None else block.timestamp,
        lag_seconds=None if block is None else max(0, int(now) - block.timestamp),
        head_block=head,
        lag_blocks=None if head is None or block is None else max(0, head - block.number),
        gaps=gaps,
        state=state,
        behind_seconds=behind,
        failing_seconds=failing,
        last_error=error,
        progress=None if progress is None or progress.sync is None else sync_info(progress.sync, now),
    )


def health(ctx: ApiContext, stored: Mapping[int, BlockRef], now: float | None = None) -> HealthAnswer:
    """The health document over `stored` (the cache's latest blocks) and the live indexer, if any: every chain
    stored or followed, the followed ones with their progress."""
    now = time.time() if now is None else now
    max_lag = ctx.settings.health_max_lag
    live = ctx.live
    heads = live.heads() if live else {}
    gaps = live.gaps() if live and live.gaps else {}
    progress = live.progress() if live and live.progress else {}
    chains = [
        chain_health(
            chain_id,
            stored.get(chain_id),
            heads.get(chain_id),
            progress.get(chain_id),
            [m.IndexGap(from_block=a, to_block=b, blocks=n, reason=why) for a, b, n, why in gaps.get(chain_id, ())],
            now,
            max_lag,
        )
        for chain_id in sorted({*stored, *progress})
    ]
    states = {c.state for c in chains}
    status: Literal["ok", "empty", "stale", "syncing"]
    if "stale" in states:
        status = "stale"
    elif "syncing" in states:
        status = "syncing"
    else:
        status = "ok" if chains else "empty"
    network = ctx.network if ctx.network in ("mainnet", "devnet") else None
    body = m.Health(status=status, time=int(now), network=network, chains=chains)  # type: ignore[arg-type]
    return HealthAnswer(503 if status == "stale" else 200, body)
