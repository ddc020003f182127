"""What a caller asks of the governance view (`--protocol`, `--state`, `--source`), checked once for the CLI
and the API.

query = ProposalQuery.parse(protocol="compound", state="executed", source="all")
query.protocols, query.state, query.sources       # ("compound",), "Executed", ("chain", "snapshot")
query.keeps(proposal.state)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.errors import InputError
from defiscope.governance.offchain import SNAPSHOT_SPACES, OffchainState
from defiscope.governance.sources import SOURCES, SourceName
from defiscope.governance.state import ProposalState
from defiscope.protocols.governors import GOVERNORS

#: Every governed protocol: on chain (a Governor in a registry) or off chain (a Snapshot space).
PROTOCOLS: Final = tuple(dict.fromkeys((*GOVERNORS, *SNAPSHOT_SPACES)))
#: The Governor's eight states, then Snapshot's "Closed" (its Pending and Active are the Governor's names).
STATES: Final = tuple(dict.fromkeys([*(s.value for s in ProposalState), *(s.value for s in OffchainState)]))
SOURCE_CHOICES: Final = (*SOURCES, "all")


@dataclass(frozen=True, slots=True)
class ProposalQuery:
    protocols: tuple[str, ...]
    state: str | None  # one of STATES
    sources: tuple[SourceName, ...]

    @classmethod
    def parse(cls, *, protocol: str | None, state: str | None, source: str = "all") -> ProposalQuery:
        if protocol is not None and protocol.lower() not in PROTOCOLS:
            raise InputError(f"unknown governed protocol {protocol!r}; known: {', '.join(PROTOCOLS)}", field="protocol")
        wanted = None
        if state is not None:
            wanted = {s.lower(): s for s in STATES}.get(state.lower())
            if wanted is None:
                raise InputError(f"unknown proposal state {state!r}; one of: {', '.join(STATES)}", field="state")
        choice = source.lower()
        if choice not in SOURCE_CHOICES:
            raise InputError(f"unknown source {source!r}; one of: {', '.join(SOURCE_CHOICES)}", field="source")
        sources = SOURCES if choice == "all" else tuple(s for s in SOURCES if s == choice)
        protocols = (protocol.lower(),) if protocol is not None else PROTOCOLS
        return cls(protocols, wanted, sources)

    @property
    def chain_protocols(self) -> tuple[str, ...]:
        return tuple(p for p in self.protocols if p in GOVERNORS) if "chain" in self.sources else ()

    def keeps(self, state: str | None) -> bool:
        return self.state is None or state == self.state
