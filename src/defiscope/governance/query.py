"""What a caller asks of the governance view (`--protocol`, `--state`), checked once for the CLI and the API.

query = ProposalQuery.parse(protocol="compound", state="executed")
query.protocols, query.state                      # ("compound",), ProposalState.EXECUTED
query.keeps(proposal)
"""

from __future__ import annotations

from dataclasses import dataclass

from defiscope.errors import InputError
from defiscope.governance.proposals import Proposal
from defiscope.governance.state import ProposalState
from defiscope.protocols.governors import GOVERNORS


@dataclass(frozen=True, slots=True)
class ProposalQuery:
    protocols: tuple[str, ...]
    state: ProposalState | None

    @classmethod
    def parse(cls, *, protocol: str | None, state: str | None) -> ProposalQuery:
        if protocol is not None and protocol.lower() not in GOVERNORS:
            known = ", ".join(GOVERNORS)
            raise InputError(f"unknown governed protocol {protocol!r}; known: {known}", field="protocol")
        wanted = None
        if state is not None:
            by_name = {s.value.lower(): s for s in ProposalState}
            wanted = by_name.get(state.lower())
            if wanted is None:
                known = ", ".join(s.value for s in ProposalState)
                raise InputError(f"unknown proposal state {state!r}; one of: {known}", field="state")
        protocols = (protocol.lower(),) if protocol is not None else tuple(GOVERNORS)
        return cls(protocols, wanted)

    def keeps(self, proposal: Proposal) -> bool:
        return self.state is None or proposal.state == self.state
