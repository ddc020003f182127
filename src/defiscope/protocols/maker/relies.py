"""The Vat's wards, followed from its ``rely``/``deny`` LogNotes: a check on the IlkRegistry's list of joins.

Every GemJoin must be a ward of the Vat (``vat.slip`` is ``auth``), so a contract the Vat relies on that
answers ``ilk()`` and ``gem()`` like a join, yet is missing from the registry, is a join the registry lacks
(an offboarded collateral, or one governance never registered). The scan is incremental: each block range
is read once.

    wards = VatWards(vat, start_block=8_928_152)
    await wards.scan(client, to_block)       # wards.current: relied and not denied since
    missing = await unregistered_joins(reader, wards.current, known, probed={})   # address -> ilk name
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.protocols.maker.ilks import ilk_name
from defiscope.protocols.surface import note_topic

RELY: Final = "rely(address)"
DENY: Final = "deny(address)"
JOIN_PROBES: Final = ("ilk()(bytes32)", "gem()(address)")


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


@dataclass(slots=True)
class VatWards:
    vat: str
    start_block: int
    scanned_to: int = -1
    current: dict[str, None] = field(default_factory=dict)  # ordered set, first relied first
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def scan(self, client: ChainClient, to_block: int) -> dict[str, None]:
        """The wards as of ``to_block``; a block before the cursor is scanned afresh, not from the cache."""
        if to_block < self.scanned_to:
            return await VatWards(self.vat, self.start_block).scan(client, to_block)
        async with self._lock:
            start = max(self.start_block, self.scanned_to + 1)
            if to_block >= start:
                rely, deny = "0x" + note_topic(RELY).hex(), "0x" + note_topic(DENY).hex()
                logs = await client.get_logs(
                    address=self.vat, topics=[[rely, deny]], from_block=start, to_block=to_block
                )
                for log in sorted(logs, key=lambda lg: (_int(lg["blockNumber"]), _int(lg["logIndex"]))):
                    usr = str(to_checksum_address("0x" + _hex(log["topics"][1])[-40:]))
                    if _hex(log["topics"][0]) == rely:
                        self.current[usr] = None
                    else:
                        self.current.pop(usr, None)
                self.scanned_to = to_block
        return self.current


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
