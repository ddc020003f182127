"""What a protocol module reads of the chain, declared as data: contracts, their real interface, calls, events.

Every adapter (with its risk and yield paths) declares the contracts it reads as `ContractUse`s. The
declaration is checked three ways, so the same code can be trusted on mainnet without reaching it:

- against the real ABIs (``tests/mainnet/``): each call exists in the named interface with the same inputs,
  outputs and a ``view``/``pure`` mutability, each event with the same name and argument types;
- against what the code does on the devnet: every call recorded there is declared (a call the declaration
  lacks, or a devnet-only admin hook, fails the test);
- by people: ``defiscope methodology`` prints it per chain, with the registry's addresses.

    >>> use = ContractUse("Pool", "aave/IPool", calls=("getReservesList()(address[])",))
    >>> use.signatures()
    ('getReservesList()',)
    >>> event_topic("Transfer(address,address,uint256)").hex()[:8]
    'ddf252ad'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from eth_utils import keccak

from defiscope.chain.abi import Function


@dataclass(frozen=True, slots=True)
class ContractUse:
    """One contract (or one kind of discovered contract) a protocol reads.

    ``interface`` names the real ABI it answers: a fixture ``tests/fixtures/abi/<interface>.json`` taken from
    a published package or written from the verified source. ``calls`` are full signatures as `Call.of`
    takes them ("balanceOf(address)(uint256)"); ``events`` are canonical event signatures
    ("PoolCreated(address,address,uint24,int24,address)"). ``notes`` are functions whose calls the contract logs
    as an anonymous dss ``LogNote`` (topic0 = the function's selector, left-aligned), e.g. the Vat's
    "frob(bytes32,address,address,address,int256,int256)". ``address`` is the registry's address for a fixed
    contract; None for contracts found at run time (pools, aTokens, strategies), described by ``name``.
    """

    name: str
    interface: str
    calls: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    address: str | None = None
    notes: tuple[str, ...] = ()

    def signatures(self) -> tuple[str, ...]:
        """The calls without their outputs: "getReservesList()"."""
        return tuple(Function.parse(call).signature for call in self.calls)


def event_topic(signature: str) -> bytes:
    """topic0 of an event given its canonical signature."""
    return keccak(text=signature.replace(" ", ""))


def note_topic(function: str) -> bytes:
    """topic0 of a dss ``LogNote`` (anonymous) logged by ``function``: its selector, left-aligned in 32 bytes.

    >>> note_topic("rely(address)").hex()[:8]
    '65fae35e'
    """
    return keccak(text=function.replace(" ", ""))[:4].ljust(32, b"\0")


def declared_signatures(uses: Iterable[ContractUse]) -> frozenset[str]:
    return frozenset(sig for use in uses for sig in use.signatures())


def declared_topics(uses: Iterable[ContractUse]) -> frozenset[bytes]:
    return frozenset(
        [event_topic(event) for use in uses for event in use.events]
        + [note_topic(note) for use in uses for note in use.notes]
    )


@runtime_checkable
class ReadsChain(Protocol):
    """Anything that declares what it reads (adapters, on-chain price sources)."""

    def surface(self) -> tuple[ContractUse, ...]: ...
