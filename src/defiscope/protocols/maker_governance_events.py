"""Maker's governance as kept in the store: the chief's approval voting and the pause's spell plans.

Mainnet's chief (MCD_ADM, ds-chief 1.2) and pause (MCD_PAUSE, ds-pause) log their calls as ds-note's anonymous
`LogNote(bytes4 indexed sig, address indexed guy, bytes32 indexed foo, bytes32 indexed bar, uint256 wad, bytes
fax)`: topic0 is the called function's selector (left-aligned), `guy` the caller, `fax` the whole calldata. So
each note is parsed by decoding its calldata as the function its selector names:

    stream = maker_governance_streams(chief="0x…", pause="0x…", start_block=0, lookback=10**9)
    parse_maker_governance_log(log).kind      # "chief_vote", "proposal_queued", ...

Stored kinds and payloads (integers as decimal strings, addresses checksummed, bytes as 0x-hex):

- `chief_deposit` {voter, change}: `lock(wad)` (+wad) and `free(wad)` (-wad), the voter's locked MKR;
- `chief_etch` {slate, yays, by}: a slate written (`etch`); `chief_vote` {voter, slate, yays}: a vote for a slate
  (`vote(bytes32)`, yays null: the slate's etch says them) or for a list (`vote(address[])`, which notes twice);
- `chief_lift` {whom}: the new hat;
- `proposal_queued` {id, eta, action, tag, calldata, plan}: a spell's `schedule()` plotting its action in the
  pause (`guy` is the spell, the only caller the chief authorises being its hat); shared with the Governor's
  kind (id and eta), so a queued spell is a queued proposal to every reader of that kind;
- `proposal_executed` {id, plan}: the plan executed, `id` its caller: the spell itself when its `cast()` ran it
  (as spells do); anyone may call `exec`, so the view finds the spell by the plan;
- `plan_dropped` {plan, by}: a plan dropped by the hat (`drop`), the spell it belonged to found by its plan.

A spell's plan is `keccak256(abi.encode(usr, tag, fax, eta))`, as ds-pause keys `plans`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from eth_abi import decode, encode
from eth_utils import keccak

from defiscope.chain.abi import checksum
from defiscope.chain.logs import log_hex, topic_address
from defiscope.protocols.events import EventParseError, EventStream, StoredEvent
from defiscope.protocols.governor_events import PROPOSAL_EXECUTED_KIND, PROPOSAL_QUEUED_KIND
from defiscope.protocols.surface import note_topic

#: ds-note's LogNote, as the real ABIs declare it (anonymous: topic0 is the selector, not this event's hash).
LOG_NOTE_EVENT: Final = "LogNote(bytes4,address,bytes32,bytes32,uint256,bytes)"
ETCH_EVENT: Final = "Etch(bytes32)"

LOCK: Final = "lock(uint256)"
FREE: Final = "free(uint256)"
ETCH: Final = "etch(address[])"
VOTE_YAYS: Final = "vote(address[])"
VOTE_SLATE: Final = "vote(bytes32)"
LIFT: Final = "lift(address)"
CHIEF_NOTES: Final = (LOCK, FREE, ETCH, VOTE_YAYS, VOTE_SLATE, LIFT)

PLOT: Final = "plot(address,bytes32,bytes,uint256)"
DROP: Final = "drop(address,bytes32,bytes,uint256)"
EXEC: Final = "exec(address,bytes32,bytes,uint256)"
PAUSE_NOTES: Final = (PLOT, DROP, EXEC)

CHIEF_DEPOSIT_KIND: Final = "chief_deposit"
CHIEF_ETCH_KIND: Final = "chief_etch"
CHIEF_VOTE_KIND: Final = "chief_vote"
CHIEF_LIFT_KIND: Final = "chief_lift"
PLAN_DROPPED_KIND: Final = "plan_dropped"
MAKER_KINDS: Final = (
    CHIEF_DEPOSIT_KIND,
    CHIEF_ETCH_KIND,
    CHIEF_VOTE_KIND,
    CHIEF_LIFT_KIND,
    PROPOSAL_QUEUED_KIND,
    PROPOSAL_EXECUTED_KIND,
    PLAN_DROPPED_KIND,
)


def _argument_types(function: str) -> list[str]:
    inner = function[function.index("(") + 1 : -1]
    return inner.split(",") if inner else []


def slate_of(yays: Sequence[str]) -> str:
    """ds-chief's slate id: keccak256(abi.encodePacked(yays)), each address padded to a word in the packing."""
    return "0x" + keccak(b"".join(bytes.fromhex(y[2:]).rjust(32, b"\0") for y in yays)).hex()


def plan_of(usr: str, tag: bytes, fax: bytes, eta: int) -> str:
    """ds-pause's plan key: keccak256(abi.encode(usr, tag, fax, eta))."""
    return "0x" + keccak(encode(["address", "bytes32", "bytes", "uint256"], [usr, tag, fax, eta])).hex()


class _Note:
    """One LogNote: the caller and the call's arguments, decoded as `function`."""

    def __init__(self, log: Mapping[str, Any], function: str) -> None:
        data = log["data"]
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        try:
            (_wad, fax) = decode(["uint256", "bytes"], raw)
            self.arguments: tuple[Any, ...] = tuple(decode(_argument_types(function), bytes(fax)[4:]))
        except Exception as exc:  # eth_abi raises several decoding errors; all mean the same here
            raise EventParseError(f"LogNote of {function} at block {log.get('blockNumber')}: {exc}") from exc
        self.guy = topic_address(log["topics"][1])


def _deposit(sign: int) -> Callable[[Mapping[str, Any], _Note], tuple[str, dict[str, Any]]]:
    def parse(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
        return CHIEF_DEPOSIT_KIND, {"voter": note.guy, "change": str(sign * int(note.arguments[0]))}

    return parse


def _etch(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    yays = [checksum(y) for y in note.arguments[0]]
    return CHIEF_ETCH_KIND, {"slate": slate_of(yays), "yays": yays, "by": note.guy}


def _vote_yays(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    yays = [checksum(y) for y in note.arguments[0]]
    return CHIEF_VOTE_KIND, {"voter": note.guy, "slate": slate_of(yays), "yays": yays}


def _vote_slate(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    return CHIEF_VOTE_KIND, {"voter": note.guy, "slate": "0x" + bytes(note.arguments[0]).hex(), "yays": None}


def _lift(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    return CHIEF_LIFT_KIND, {"whom": checksum(note.arguments[0])}


def _plan(note: _Note) -> tuple[str, bytes, bytes, int, str]:
    usr, tag, fax, eta = note.arguments
    return checksum(usr), bytes(tag), bytes(fax), int(eta), plan_of(usr, bytes(tag), bytes(fax), int(eta))


def _plot(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    usr, tag, fax, eta, plan = _plan(note)
    payload = {"id": note.guy, "eta": eta, "action": usr, "tag": "0x" + tag.hex(), "calldata": "0x" + fax.hex()}
    return PROPOSAL_QUEUED_KIND, payload | {"plan": plan}


def _exec(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    return PROPOSAL_EXECUTED_KIND, {"id": note.guy, "plan": _plan(note)[4]}


def _drop(log: Mapping[str, Any], note: _Note) -> tuple[str, dict[str, Any]]:
    return PLAN_DROPPED_KIND, {"plan": _plan(note)[4], "by": note.guy}


_PARSERS: Final[Mapping[str, tuple[str, Callable[[Mapping[str, Any], _Note], tuple[str, dict[str, Any]]]]]] = {
    "0x" + note_topic(function).hex(): (function, parse)
    for function, parse in (
        (LOCK, _deposit(1)),
        (FREE, _deposit(-1)),
        (ETCH, _etch),
        (VOTE_YAYS, _vote_yays),
        (VOTE_SLATE, _vote_slate),
        (LIFT, _lift),
        (PLOT, _plot),
        (EXEC, _exec),
        (DROP, _drop),
    )
}


def parse_maker_governance_log(log: Mapping[str, Any]) -> StoredEvent:
    """A chief's or pause's LogNote, by its topic0 (the noted function's selector)."""
    topic0 = log_hex(log["topics"][0]) if log.get("topics") else ""
    found = _PARSERS.get(topic0)
    if found is None or len(log["topics"]) < 2:
        raise EventParseError(f"not a Maker governance note: topic0 {topic0 or None}")
    function, parse = found
    kind, payload = parse(log, _Note(log, function))
    # A plan is queued and executed once: its key keeps a rescan from storing it twice.
    key = str(payload["plan"]) if kind in (PROPOSAL_QUEUED_KIND, PROPOSAL_EXECUTED_KIND) else ""
    return StoredEvent.of(log, kind, payload, key=key)


def maker_governance_streams(*, chief: str, pause: str, start_block: int, lookback: int) -> list[EventStream]:
    """The chief's voting notes and the pause's plan notes, from `start_block` (or `lookback` back)."""

    def stream(address: str, notes: tuple[str, ...]) -> EventStream:
        topics = tuple("0x" + note_topic(n).hex() for n in notes)
        return EventStream(address, topics, parse_maker_governance_log, lookback=lookback, start_block=start_block)

    return [stream(chief, CHIEF_NOTES), stream(pause, PAUSE_NOTES)]
