"""Who holds a right that the chain cannot enumerate: AccessControl roles and dss wards, from their events.

    holders = await role_holders(reader, acl, role)   # named by RoleGranted/RoleRevoked, checked with hasRole
    wards = await ward_holders(reader, vat)           # addresses named by rely notes / Rely events, wards(a) == 1

The events come from `Rounds.control_logs` (every control event of the contract, read once per round for all).

`hasRole(role, a)` and `wards(a)` answer for one address only. The candidates come from events; each is then
confirmed at the pinned block, so a revoked or denied one is not listed. A ward set in a constructor logs
nothing (dss: `wards[msg.sender] = 1`), so ward lists are marked incomplete: a deployer that never denied
itself does not appear.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.logs import log_hex
from defiscope.chain.multicall import Call
from defiscope.protocols.control import surface
from defiscope.protocols.control.rounds import Rounds, in_rounds
from defiscope.protocols.surface import event_topic, note_topic

ROLE_GRANTED: Final = event_topic(surface.ROLE_GRANTED)
ROLE_REVOKED: Final = event_topic(surface.ROLE_REVOKED)
RELY_EVENT: Final = event_topic(surface.RELY)
RELY_NOTE: Final = note_topic("rely(address)")
#: Why a ward list may miss someone.
WARDS_CAVEAT: Final = "wards set in a constructor log nothing: a deployer that never denied itself is not listed"


def _topic_address(topic: Any) -> str:
    raw = bytes.fromhex(topic[2:]) if isinstance(topic, str) else bytes(topic)
    return to_checksum_address(raw[-20:])


def _hex(topic: bytes) -> str:
    return "0x" + topic.hex()


AskAhead = Callable[[str], Coroutine[Any, Any, object]]


def role_candidates(logs: Sequence[Mapping[str, Any]], role: bytes) -> list[str]:
    """Accounts a RoleGranted or RoleRevoked event of ``role`` names, in the events' order, without repeats."""
    kinds, wanted = {_hex(ROLE_GRANTED), _hex(ROLE_REVOKED)}, _hex(role)
    found = [
        _topic_address(entry["topics"][2])
        for entry in logs
        if log_hex(entry["topics"][0]) in kinds and log_hex(entry["topics"][1]) == wanted
    ]
    return list(dict.fromkeys(found))


def ward_candidates(logs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Accounts a Rely event or rely note names: Rely(usr) as topic 1; a LogNote the Vat's way (first argument as
    topic 1) or LibNote's (topic 2, after the caller): both are candidates, each to be checked."""
    kinds = {_hex(RELY_EVENT), _hex(RELY_NOTE)}
    found = [_topic_address(t) for entry in logs if log_hex(entry["topics"][0]) in kinds for t in entry["topics"][1:3]]
    return list(dict.fromkeys(found))


@in_rounds
async def role_holders(rounds: Rounds, contract: str, role: bytes, *, ask_ahead: AskAhead | None = None) -> list[str]:
    """Accounts holding ``role`` on an OpenZeppelin AccessControl ``contract`` at the reader's block;
    ``ask_ahead(candidate)`` is started for each candidate while they are checked."""
    candidates = role_candidates(await rounds.control_logs(contract), role)
    return await _confirmed(rounds, contract, surface.HAS_ROLE, candidates, (role,), ask_ahead)


@in_rounds
async def ward_holders(rounds: Rounds, contract: str, *, ask_ahead: AskAhead | None = None) -> list[str]:
    """Accounts with ``wards(a) == 1`` on a dss ``contract`` among those its rely events name (`WARDS_CAVEAT`)."""
    candidates = ward_candidates(await rounds.control_logs(contract))
    return await _confirmed(rounds, contract, surface.WARDS, candidates, (), ask_ahead)


async def _confirmed(
    rounds: Rounds,
    contract: str,
    signature: str,
    candidates: Sequence[str],
    prefix: tuple[bytes, ...],
    ask_ahead: AskAhead | None,
) -> list[str]:
    if ask_ahead is not None:
        for candidate in candidates:
            rounds.spawn(ask_ahead(candidate))
    results = await rounds.call_many([Call.of(contract, signature, *prefix, c) for c in candidates])
    return [c for c, r in zip(candidates, results, strict=True) if r.success and r.value[0]]
