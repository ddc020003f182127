"""Maker's spells at a block: the chief's and pause's notes from the store, and what each spell says of itself.

    spells = await spells_at(events, block, reader, decoder)     # reader None: no chain connection
    spells.proposals[0].actions[0].function                       # "dripAndFile(address,bytes32,bytes32,uint256)"

A spell's events do not carry its expiration, the action it would plot or its description: those are read
from the spell (`expiration()`, `action()`, `sig()`, `description()`) at the reader's block, in one batch.
A candidate that does not answer them (an account, or a contract that is not a spell) has no facts, and its
state says so unless its events settle it.
"""

from __future__ import annotations

from collections.abc import Sequence

from defiscope.chain.abi import checksum
from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call
from defiscope.chain.reader import CallReader
from defiscope.governance.maker import SpellFacts, Spells, build_spells, replay
from defiscope.governance.proposals import Decoder
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governors import SPELL_CALLS


async def read_spell_facts(reader: CallReader, spells: Sequence[str]) -> dict[str, SpellFacts]:
    calls = [Call.of(spell, signature) for spell in spells for signature in SPELL_CALLS]
    results = await reader.call_many(calls)
    facts = {}
    for index, spell in enumerate(spells):
        answers = results[index * len(SPELL_CALLS) : (index + 1) * len(SPELL_CALLS)]
        if all(r.success for r in answers):
            expiration, action, sig, description = (r.value[0] for r in answers)
            facts[spell] = SpellFacts(int(expiration), checksum(str(action)), "0x" + bytes(sig).hex(), str(description))
    return facts


async def spells_at(
    events: Sequence[StoredEvent], block: BlockRef, reader: CallReader | None, decode: Decoder
) -> Spells:
    candidates = sorted(replay(events, block.number).created)
    facts = {} if reader is None or not candidates else await read_spell_facts(reader, candidates)
    return build_spells(events, block=block, facts=facts, decode=decode)
