"""The Vat's wards, followed from its ``rely``/``deny`` LogNotes: a check on the IlkRegistry's list of joins.

Every GemJoin must be a ward of the Vat (``vat.slip`` is ``auth``), so a contract the Vat relies on that
answers ``ilk()`` and ``gem()`` like a join, yet is missing from the registry, is a join the registry lacks
(an offboarded collateral, or one governance never registered). The notes are a `LogCursor`: each block
range is read once, and the wards at an older block are replayed from them.

    notes = vat_wards(vat, start_block=8_928_152)
    await notes.scan(reader)                 # up to the reader's block, only blocks not scanned before
    wards = wards_at(notes, reader.block.number)                                # relied and not denied since
    missing = await unregistered_joins(reader, wards, known, probed={})   # address -> ilk name
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from defiscope.chain.logs import log_hex, topic_address
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.maker.ilks import ilk_name
from defiscope.protocols.surface import note_topic

RELY: Final = "rely(address)"
DENY: Final = "deny(address)"
JOIN_PROBES: Final = ("ilk()(bytes32)", "gem()(address)")


RELY_TOPIC: Final = "0x" + note_topic(RELY).hex()
DENY_TOPIC: Final = "0x" + note_topic(DENY).hex()


def _ward_note(log: Mapping[str, Any]) -> tuple[bool, str]:
    """A rely (True) or deny (False) note and the ward it names."""
    return log_hex(log["topics"][0]) == RELY_TOPIC, topic_address(log["topics"][1])


def vat_wards(vat: str, start_block: int) -> LogCursor[tuple[bool, str]]:
    """The Vat's rely/deny notes from ``start_block`` on (see `wards_at`)."""
    return LogCursor(vat, (RELY_TOPIC, DENY_TOPIC), _ward_note, start_block=start_block)


def wards_at(notes: LogCursor[tuple[bool, str]], block: int) -> dict[str, None]:
    """The wards at ``block``: relied and not denied since, first relied first (replayed from the notes)."""
    current: dict[str, None] = {}
    for relied, ward in notes.upto(block):
        if relied:
            current[ward] = None
        else:
            current.pop(ward, None)
    return current


async def unregistered_joins(
    reader: Reader, wards: Collection[str], known: Collection[str], probed: dict[str, str | None]
) -> Mapping[str, str]:
    """Wards not in ``known`` that answer ``ilk()`` (non-zero) and ``gem()``: join address -> its ilk name.

    ``probed`` keeps each ward's answer (its ilk name, or None) across reads: a join's ilk and gem are
    immutable, so each new ward costs two calls once."""
    known_lower = {k.lower() for k in known}
    candidates = [w for w in wards if w.lower() not in known_lower]
    probe = [w for w in candidates if w not in probed]
    results = await reader.call_many([Call.of(w, sig) for w in probe for sig in JOIN_PROBES])
    for i, ward in enumerate(probe):
        ilk, gem = results[2 * i], results[2 * i + 1]
        answers = ilk.success and gem.success and any(bytes(ilk.one()))
        probed[ward] = ilk_name(bytes(ilk.one())) if answers else None
    return {w: name for w in candidates if (name := probed[w]) is not None}
