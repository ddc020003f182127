"""Maker's spells from ds-note LogNotes, without a chain: notes encoded as ds-note logs them, parsed and replayed.

The devnet test (test_maker.py) checks the same against the chain at every block; these pin the rules one by one:
vote(address[]) noting twice counts once, lock/free move the approval of the voter's slate, and each state
follows from its events, the block's time and the spell's expiration.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from defiscope.chain.abi import checksum
from defiscope.chain.block import BlockRef
from defiscope.governance.actions import Action
from defiscope.governance.maker import SpellFacts, build_spells
from defiscope.governance.state import ProposalState
from defiscope.protocols.events import EventParseError, StoredEvent
from defiscope.protocols.maker_governance_events import (
    DROP,
    EXEC,
    FREE,
    LIFT,
    LOCK,
    PLOT,
    VOTE_SLATE,
    VOTE_YAYS,
    parse_maker_governance_log,
    plan_of,
    slate_of,
)

SPELL = "0x" + "5a" * 20
OTHER = "0x" + "7b" * 20
ACTION = "0x" + "ac" * 20
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20
WAD = 10**18
FAX = bytes.fromhex("deadbeef")
TAG = b"\x01" * 32


class Notes:
    """LogNotes in order, one block each, as ds-note emits them."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []

    def note(self, function: str, guy: str, *args: Any) -> None:
        types = function[function.index("(") + 1 : -1].split(",")
        calldata = keccak(text=function)[:4] + encode(types, list(args))
        words = [calldata[4 + 32 * i : 36 + 32 * i].ljust(32, b"\0") for i in range(2)]
        block = len(self.events) + 1
        log = {
            "topics": [
                "0x" + calldata[:4].ljust(32, b"\0").hex(),
                "0x" + "00" * 12 + guy[2:],
                *("0x" + w.hex() for w in words),
            ],
            "data": "0x" + encode(["uint256", "bytes"], [0, calldata]).hex(),
            "blockNumber": block,
            "blockHash": "0x" + f"{block:064x}",
            "logIndex": 0,
            "transactionHash": "0x" + f"{block:064x}",
        }
        self.events.append(parse_maker_governance_log(log))

    def spells(self, *, timestamp: int = 100, expiration: int = 1_000) -> dict[str, Any]:
        block = BlockRef(1, len(self.events), "0x" + "00" * 32, timestamp)
        facts = {
            checksum(s): SpellFacts(expiration, checksum(ACTION), "0x" + FAX.hex(), "a spell") for s in (SPELL, OTHER)
        }
        built = build_spells(self.events, block=block, facts=facts, decode=_decode)
        return {p.id.lower(): p for p in built.proposals} | {"deposits": built.deposits}


def _decode(target: str, value: int, signature: str, calldata: str) -> Action:
    return Action(target, None, value, None, (), calldata, "unknown", "not decoded here")


def test_approval_follows_locks_frees_and_votes() -> None:
    notes = Notes()
    notes.note(LOCK, ALICE, 100 * WAD)
    notes.note(VOTE_YAYS, ALICE, [SPELL])
    notes.note(VOTE_YAYS, ALICE, [SPELL])  # vote(address[]) notes twice (its etch and its vote)
    notes.note(LOCK, BOB, 30 * WAD)
    notes.note(VOTE_SLATE, BOB, bytes.fromhex(slate_of([SPELL])[2:]))
    assert notes.spells()[SPELL].tally.for_votes == 130 * WAD
    notes.note(FREE, ALICE, 40 * WAD)
    spells = notes.spells()
    assert (spells[SPELL].tally.for_votes, spells[SPELL].voters) == (90 * WAD, 2)
    notes.note(VOTE_YAYS, BOB, sorted([SPELL, OTHER]))  # Bob's weight moves to a two-candidate slate
    notes.note(VOTE_YAYS, ALICE, [OTHER])
    spells = notes.spells()
    assert (spells[SPELL].tally.for_votes, spells[OTHER].tally.for_votes) == (30 * WAD, 90 * WAD)
    assert spells["deposits"] == {_cs(ALICE): 60 * WAD, _cs(BOB): 30 * WAD}
    assert spells[SPELL].proposer == _cs(ALICE)  # the first to vote for it
    assert spells[SPELL].state is ProposalState.ACTIVE


def _cs(address: str) -> str:
    return checksum(address)


@pytest.mark.parametrize(
    ("steps", "timestamp", "state"),
    [
        ((), 100, ProposalState.ACTIVE),
        ((), 1_001, ProposalState.EXPIRED),
        (("lift",), 100, ProposalState.SUCCEEDED),
        (("lift",), 1_001, ProposalState.EXPIRED),  # schedule() refuses after expiration
        (("lift", "plot"), 5_000, ProposalState.QUEUED),  # a scheduled spell can be cast at any later time
        (("lift", "plot", "exec"), 100, ProposalState.EXECUTED),
        (("lift", "plot", "drop"), 100, ProposalState.CANCELED),
    ],
)
def test_state_from_the_spells_events_and_time(steps: tuple[str, ...], timestamp: int, state: ProposalState) -> None:
    notes = Notes()
    notes.note(LOCK, ALICE, WAD)
    notes.note(VOTE_YAYS, ALICE, [SPELL])
    plan = (ACTION, TAG, FAX, 120)
    for step in steps:
        if step == "lift":
            notes.note(LIFT, BOB, SPELL)
        elif step == "plot":
            notes.note(PLOT, SPELL, *plan)  # the spell's schedule(): it is the hat
        elif step == "exec":
            notes.note(EXEC, BOB, *plan)  # anyone may execute a ripe plan, not only the spell's cast()
        else:
            notes.note(DROP, OTHER, *plan)  # dropped by another hat
    spell = notes.spells(timestamp=timestamp)[SPELL]
    assert spell.state is state, spell.state_reason
    assert spell.timeline.eta == (120 if "plot" in steps else None)
    (action,) = spell.actions
    assert (action.target, action.calldata) == (_cs(ACTION), "0x" + FAX.hex())


def test_plan_key_is_ds_pause_hash_and_unsettled_spells_without_facts_say_why() -> None:
    notes = Notes()
    notes.note(PLOT, SPELL, ACTION, TAG, FAX, 120)
    queued = notes.events[-1]
    assert queued.payload["plan"] == plan_of(ACTION, TAG, FAX, 120)
    assert queued.key == queued.payload["plan"]  # one plan is queued once, however often it is scanned
    notes.note(VOTE_YAYS, ALICE, [OTHER])
    block = BlockRef(1, 2, "0x" + "00" * 32, 100)
    built = {p.id.lower(): p for p in build_spells(notes.events, block=block, facts={}, decode=_decode).proposals}
    assert built[SPELL].state is ProposalState.QUEUED  # settled by its events
    assert built[OTHER].state is None
    assert "could not be read" in built[OTHER].state_reason


def test_a_note_that_does_not_decode_is_a_parse_error() -> None:
    log = {
        "topics": ["0x" + keccak(text=LOCK)[:4].ljust(32, b"\0").hex(), "0x" + "00" * 32],
        "data": "0x1234",
        "blockNumber": 1,
        "blockHash": "0x" + "00" * 32,
        "logIndex": 0,
    }
    with pytest.raises(EventParseError, match="LogNote of lock"):
        parse_maker_governance_log(log)
    with pytest.raises(EventParseError, match="not a Maker governance note"):
        parse_maker_governance_log({**log, "topics": ["0x" + "11" * 32, "0x" + "00" * 32]})
