"""Who holds a right that the chain cannot enumerate: AccessControl roles and dss wards, from their events.

    holders = await role_holders(reader, acl, role)   # replayed RoleGranted/RoleRevoked, checked with hasRole
    wards = await ward_holders(reader, vat)           # addresses named by rely notes / Rely events, wards(a) == 1

`hasRole(role, a)` and `wards(a)` answer for one address only. The candidates come from events; each is then
confirmed at the pinned block, so a revoked or denied one is not listed. A ward set in a constructor logs
nothing (dss: `wards[msg.sender] = 1`), so ward lists are marked incomplete: a deployer that never denied
itself does not appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.protocols.control import surface
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


async def role_holders(reader: Reader, contract: str, role: bytes, *, from_block: int = 0) -> list[str]:
    """Accounts holding ``role`` on an OpenZeppelin AccessControl ``contract`` at the reader's block."""
    logs = await reader.logs(
        address=contract, topics=[[_hex(ROLE_GRANTED), _hex(ROLE_REVOKED)], _hex(role)], from_block=from_block
    )
    candidates = list(dict.fromkeys(_topic_address(log["topics"][2]) for log in logs))
    return await _confirmed(reader, contract, surface.HAS_ROLE, candidates, role)


async def ward_holders(reader: Reader, contract: str, *, from_block: int = 0) -> list[str]:
    """Accounts with ``wards(a) == 1`` on a dss ``contract`` among those its rely events name (`WARDS_CAVEAT`)."""
    logs = await reader.logs(address=contract, topics=[[_hex(RELY_EVENT), _hex(RELY_NOTE)]], from_block=from_block)
    candidates: list[str] = []
    for log in logs:
        # Rely(usr): topic 1. LogNote: the Vat logs the first argument as topic 1, LibNote as topic 2 (after the
        # caller): both are candidates, each checked below.
        candidates += [_topic_address(t) for t in log["topics"][1:3]]
    return await _confirmed(reader, contract, surface.WARDS, list(dict.fromkeys(candidates)))


async def _confirmed(
    reader: Reader, contract: str, signature: str, candidates: Sequence[str], *prefix: bytes
) -> list[str]:
    results = await reader.call_many([Call.of(contract, signature, *prefix, c) for c in candidates])
    return [c for c, r in zip(candidates, results, strict=True) if r.success and r.value[0]]
