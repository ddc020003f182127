"""EigenLayer's pause powers: its core contracts defer to one PauserRegistry for who may pause and unpause them.

    roles = await pauser_roles(rounds, strategy_manager, ask_ahead=lambda a: admin_chain(rounds, a))
    roles.registry, roles.pausers, roles.unpauser      # the registry, its pausers (confirmed), its unpauser

Mainnet's managers (StrategyManager, DelegationManager, EigenPodManager, and the AVSDirectory, RewardsCoordinator,
AllocationManager) inherit `Pausable` (Layr-Labs/eigenlayer-contracts ``src/contracts/permissions/Pausable.sol``):
a 256-bit map of pause flags, one per function group (StrategyManager's deposits are flag 0); ``pause`` and
``pauseAll`` only set flags and are for any pauser, ``unpause`` only clears them and is the unpauser's. Both roles
are read from the immutable ``pauserRegistry()`` (``src/contracts/permissions/PauserRegistry.sol``), whose
``isPauser(a)`` is a mapping: candidates come from its PauserStatusChanged events (logged by its constructor too,
so none is missed), each confirmed with ``isPauser`` at the pinned block; ``unpauser()`` is one address, who also
names the pausers and the next unpauser.

Rounds: ``pauserRegistry()`` goes with the manager's first round; the registry's events and ``unpauser()`` the next;
the candidates' ``isPauser`` and every holder's own admin chain (asked ahead) the third.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.logs import log_hex, word_address
from defiscope.chain.multicall import Call
from defiscope.protocols.control import surface
from defiscope.protocols.control.roles import AskAhead
from defiscope.protocols.control.rounds import Rounds
from defiscope.protocols.surface import event_topic

PAUSER_STATUS_CHANGED_TOPIC: Final = "0x" + event_topic(surface.PAUSER_STATUS_CHANGED).hex()
#: Interfaces of the contracts that defer to a PauserRegistry: those the control surface asks `pauserRegistry()`.
PAUSABLE_INTERFACES: Final = tuple(u.interface for u in surface.CONTROL_SURFACE if surface.PAUSER_REGISTRY in u.calls)


@dataclass(frozen=True, slots=True)
class PauserRoles:
    registry: str
    pausers: tuple[str, ...]
    #: None: the registry answers the zero address (nobody can unpause).
    unpauser: str | None


def pauser_candidates(logs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Accounts a PauserStatusChanged event names (its first data word: nothing is indexed), in the events' order,
    without repeats; whether each pauses now is for ``isPauser`` to say."""
    found = []
    for entry in logs:
        if log_hex(entry["topics"][0]) != PAUSER_STATUS_CHANGED_TOPIC:
            continue
        found.append(word_address(entry["data"], 0))
    return list(dict.fromkeys(found))


async def pauser_roles(rounds: Rounds, contract: str, *, ask_ahead: AskAhead | None = None) -> PauserRoles:
    """The pausers and unpauser of the PauserRegistry ``contract`` defers to; ``ask_ahead(holder)`` is started for
    each candidate and the unpauser while the candidates are confirmed. A revert raises `CallReverted`."""
    (named,) = await rounds.values([Call.of(contract, surface.PAUSER_REGISTRY)])
    registry = to_checksum_address(named)
    unpauser_call = Call.of(registry, surface.UNPAUSER)
    rounds.prefetch(calls=[unpauser_call], emitters=[registry])
    logs = await rounds.control_logs(registry)
    (answered,) = await rounds.values([unpauser_call])
    unpauser = to_checksum_address(answered) if int(answered, 16) else None
    candidates = pauser_candidates(logs)
    if ask_ahead is not None:
        for holder in (*candidates, *(() if unpauser is None else (unpauser,))):
            rounds.spawn(ask_ahead(holder))
    results = await rounds.call_many([Call.of(registry, surface.IS_PAUSER, c) for c in candidates])
    pausers = tuple(c for c, r in zip(candidates, results, strict=True) if r.success and r.value[0])
    return PauserRoles(registry, pausers, unpauser)
