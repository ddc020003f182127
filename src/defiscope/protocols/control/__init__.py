"""Who controls a protocol's contracts, read live from the chain at a pinned block.

`proxy` tells whether a contract is a proxy and of which kind (EIP-1967 slots, UUPS, beacon, Compound's
Unitroller, Safe's proxy); `admin` follows its admin to the end (EOA, Safe multisig, timelock, governor, or
unknown with why); `roles` lists AccessControl role holders and dss wards from events; `profile` puts it together
for every fixed contract a protocol's adapters read (`surface` declares every call and event). `rounds` reads all
protocols of a chain together, one HTTP request per round (as many as the deepest admin chain is long). Chain
reads only, through the `Reader` (recorded as provenance); scoring is analytics' job.
"""
