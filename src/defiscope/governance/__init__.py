"""Governance read from chain: proposals and votes from a Governor's events, their state, decoded and flagged
actions, and voting-power concentration.

    specs = governors_of(deployment)                       # the governed protocols this chain's registry has
    proposals = build_proposals(spec, events, at=block, quorums=quorums, decoder=decoder)
    proposals[0].state, proposals[0].actions[0].flag       # ProposalState.EXECUTED, "oracle-change"

Math and decoding modules (`state`, `actions`, `concentration`, `proposals`) do no I/O; `load` reads the store
and the chain. Off chain (optional, off by default): `snapshot` is a client of Snapshot's Hub GraphQL API,
`offchain` maps its proposals into the view, `sources` caches them and reports each source's status.
"""
