"""Risk scores kept by the indexer: a `BlockHook` that scores a chain's protocols when their control may have
changed, and otherwise every `every_seconds` of block time.

    hook = RiskHook(repo, every_seconds=6 * 3600)
    Indexer(runtime.engines, repo, options, hooks=(alerts, grades, hook))

Control reads are not free (a few rounds of one JSON-RPC batch for all protocols of the chain, control events since
the chain's last profile, kept in a `ControlLogs` per chain), so a stored block is
scored only when (a) no score of the chain is stored yet, (b) one of `CONTROL_EVENTS` was logged since the last
block looked at (an upgrade, a role granted or revoked, an owner or admin or delay changed, a Safe's owners or
threshold changed: the chain's shared log feed answers, usually from memory), or (c) `every_seconds` of block time
passed since the chain's newest score. A run goes on in the background (one per chain; blocks told meanwhile are
looked at when it ends), so indexing never waits for it. Each protocol's profile is read at the block, scored, and
stored with what changed (`history.record_profile`); one protocol's failure is logged and leaves the others (it
is scored again at the next trigger); a run that fails as a whole looks at the same control events again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import structlog

from defiscope.analytics.risk.facts import known_slugs
from defiscope.analytics.risk.history import record_profile
from defiscope.analytics.risk.profile import risk_profiles
from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot
from defiscope.chain.limits import background_reads
from defiscope.chain.reader import Batcher
from defiscope.protocols.control.profile import found_contracts
from defiscope.protocols.control.rounds import CONTROL_TOPICS as ROUNDS_TOPICS
from defiscope.protocols.control.rounds import ControlLogs
from defiscope.protocols.surface import event_topic
from defiscope.store import Repository
from defiscope.store.risk import RiskStore

if TYPE_CHECKING:
    from defiscope.indexing_hooks import IndexedChain
    from defiscope.tvl.engine import ChainTvl, TvlEngine

log = structlog.get_logger(__name__)

#: Score every 6 hours of block time at least (`[risk] every_hours`, `DEFISCOPE_RISK_EVERY_HOURS`).
DEFAULT_EVERY_SECONDS: Final = 6 * 3600
#: Events after which a protocol's control may read differently (OpenZeppelin proxies, Ownable, AccessControl and
#: TimelockController; Uniswap's factories; Compound's Timelock and Comptroller; Safe; dss auth; Aragon's kernel and
#: ACL; Curve's owner proxies).
CONTROL_EVENTS: Final = (
    "Upgraded(address)",
    "AdminChanged(address,address)",
    "BeaconUpgraded(address)",
    "OwnershipTransferred(address,address)",
    "OwnershipTransferStarted(address,address)",  # Ownable2Step: a nominee shows before it accepts
    "OwnerChanged(address,address)",
    "RoleGranted(bytes32,address,address)",
    "RoleRevoked(bytes32,address,address)",
    "MinDelayChange(uint256,uint256)",
    "NewAdmin(address)",
    "NewAdmin(address,address)",  # Compound's Unitroller and cTokens
    "NewPendingAdmin(address)",  # Compound's Timelock: a nominee
    "NewPendingAdmin(address,address)",  # Compound's Unitroller and cTokens: a nominee
    "NewImplementation(address,address)",  # a Unitroller's new Comptroller
    "NewPriceOracle(address,address)",  # a Comptroller's new price oracle (a contract of the protocol)
    "NewDelay(uint256)",
    "AddedOwner(address)",
    "RemovedOwner(address)",
    "ChangedThreshold(uint256)",
    "Rely(address)",
    "Deny(address)",
    "SetApp(bytes32,bytes32,address)",  # an Aragon app's new code (Lido's stETH)
    "SetPermission(address,address,bytes32,bool)",  # an Aragon ACL grant or revoke
    "ChangePermissionManager(address,bytes32,address)",
    "ApplyAdmins(address,address,address)",  # a Curve owner proxy's new ownership, parameter and emergency admins
    "NewPauseGuardian(address,address)",  # a Comptroller's new pause guardian
    "UnpauserChanged(address,address)",  # an EigenLayer PauserRegistry's new unpauser
)
#: These, and every event the control reads themselves scan (`rounds.CONTROL_TOPICS`: EigenLayer's
#: PauserStatusChanged among them), so a change a profile would read also makes the hook score again.
CONTROL_TOPICS: Final = tuple(
    dict.fromkeys((*("0x" + event_topic(signature).hex() for signature in CONTROL_EVENTS), *ROUNDS_TOPICS))
)


class RiskHook:
    """Scores each chain's protocols (those with a facts file) at the blocks `due` picks."""

    def __init__(self, repo: Repository, every_seconds: int = DEFAULT_EVERY_SECONDS) -> None:
        self.repo = repo
        self.every_seconds = every_seconds
        self._looked: dict[int, int] = {}  # chain -> the last block whose control events were looked at
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._pending: dict[int, tuple[TvlEngine, ChainTvl]] = {}
        self._subscribed: set[int] = set()
        #: chain -> its control events read so far: a profile asks only the blocks since the last one.
        self._logs: dict[int, ControlLogs] = {}

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        engine, chain_id = chain.engine, result.block.chain_id
        if engine.feed is not None and chain_id not in self._subscribed:
            engine.feed.subscribe(CONTROL_TOPICS)  # the next fetch of the shared feed brings them along
            self._subscribed.add(chain_id)
        self._pending[chain_id] = (engine, result)
        running = self._runs.get(chain_id)
        if running is None or running.done():
            self._runs[chain_id] = asyncio.create_task(self._drain(chain_id))

    async def idle(self) -> None:
        """Wait until every chain's scoring has looked at the newest block told."""
        while running := [task for task in self._runs.values() if not task.done()]:
            await asyncio.gather(*running)

    async def cancel(self) -> None:
        """Stop the scoring still running (a shutdown): nothing half-read is stored; a restart scores its first
        block again, as no newer score is stored (rule (a) or (c))."""
        self._pending.clear()
        running = [task for task in self._runs.values() if not task.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _drain(self, chain_id: int) -> None:
        with background_reads():  # on a rate-limited provider, the indexer's own reads go first
            await self._score_pending(chain_id)

    async def _score_pending(self, chain_id: int) -> None:
        while (pending := self._pending.pop(chain_id, None)) is not None:
            engine, result = pending
            looked = self._looked.get(chain_id)
            try:
                if await self.due(engine, result.block):
                    await self.score(engine, result)
            except Exception as exc:  # logged; the next block looks at the same control events again
                if looked is None:
                    self._looked.pop(chain_id, None)
                else:
                    self._looked[chain_id] = looked
                log.warning("risk.score_failed", chain_id=chain_id, block=result.block.number, error=str(exc))

    async def due(self, engine: TvlEngine, block: BlockRef) -> bool:
        """Whether ``block`` is to be scored (the module docstring's rules (a)-(c))."""
        looked = self._looked.get(block.chain_id)
        self._looked[block.chain_id] = block.number
        latest = await asyncio.to_thread(RiskStore(self.repo.engine).latest_time, block.chain_id, block.number)
        if latest is None or block.timestamp - latest >= self.every_seconds:
            return True
        if engine.feed is None or looked is None or looked >= block.number:
            return False
        logs = await engine.feed.logs(engine.client, CONTROL_TOPICS, looked + 1, block)
        return bool(logs)

    async def score(self, engine: TvlEngine, result: ChainTvl) -> None:
        """Every scored protocol of the chain at ``result``'s block, read together in rounds (control surfaces and
        governance quorums in the same batches, control events since the chain's last profile), stored with
        changes."""
        block = result.block
        logs = self._logs.setdefault(block.chain_id, ControlLogs(engine.deployment.first_block))
        reader = Batcher(Snapshot(engine.client, block)).reader("risk")
        snapshots = {s.slug: s for s in result.snapshots}
        # What the engine's discovery listed by this block (from memory; the indexer read it): inspected too.
        found = found_contracts(engine.adapters, block.number)
        slugs = scored_slugs(engine)
        profiles = await risk_profiles(reader, engine.deployment, slugs, snapshots, self.repo, logs=logs, found=found)
        for slug, profile in profiles.items():
            if isinstance(profile, Exception):
                log.warning("risk.profile_failed", slug=slug, block=block.number, error=str(profile))
                continue
            changes = await asyncio.to_thread(record_profile, self.repo, block.chain_id, profile)
            if changes:
                log.info("risk.score_changed", slug=slug, block=block.number, composite=profile.score.composite)


def scored_slugs(engine: TvlEngine) -> Sequence[str]:
    """The engine's protocols that have a facts file (the score's code, audits and incidents pillars need it)."""
    facts = set(known_slugs())
    return sorted({a.info.slug for a in engine.adapters} & facts)
