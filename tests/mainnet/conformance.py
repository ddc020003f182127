"""Checks of declared surfaces and stand-ins against the real ABIs in ``tests/fixtures/abi``.

problems = use_problems(ContractUse("Pool", "aave/IPool", calls=("getReservesList()(address[])",)))
assert problems == []
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from defiscope.chain.abi import Function
from defiscope.chain.multicall import Call, CallResult
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.standins import ADMIN_HOOKS, ALSO_REPLICATES, admin_hook_names
from defiscope.protocols.surface import ContractUse, declared_topics, event_topic

ABI_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "abi"
READ_ONLY = frozenset({"view", "pure"})


@cache
def interface(name: str) -> tuple[Mapping[str, Any], ...]:
    """The real ABI named ``name`` ("aave/IPool"); a missing fixture fails loudly."""
    path = ABI_DIR / f"{name}.json"
    if not path.is_file():
        raise AssertionError(f"no real ABI fixture {path.relative_to(ABI_DIR.parents[1])}")
    data = json.loads(path.read_text())
    return tuple(data["abi"] if isinstance(data, dict) else data)


def _functions(abi: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Function, str]]:
    found = {}
    for entry in abi:
        if entry.get("type", "function") == "function":
            function = Function.from_abi(entry)
            mutability = entry.get("stateMutability") or ("view" if entry.get("constant") else "nonpayable")
            found[function.signature] = (function, mutability)
    return found


def _events(abi: Sequence[Mapping[str, Any]]) -> set[str]:
    return {Function.from_abi({**entry, "outputs": []}).signature for entry in abi if entry.get("type") == "event"}


def use_problems(use: ContractUse) -> list[str]:
    """What in one declared use the real interface does not have, one line each."""
    abi = interface(use.interface)
    functions, events = _functions(abi), _events(abi)
    problems = []
    for call in use.calls:
        declared = Function.parse(call)
        real = functions.get(declared.signature)
        if real is None:
            problems.append(f"{use.name} ({use.interface}) has no function {declared.signature}")
            continue
        function, mutability = real
        if function.outputs != declared.outputs:
            problems.append(
                f"{use.name} ({use.interface}).{declared.signature} returns ({','.join(function.outputs)}), "
                f"declared ({','.join(declared.outputs)})"
            )
        if mutability not in READ_ONLY:
            problems.append(f"{use.name} ({use.interface}).{declared.signature} is {mutability}, not view")
    for event in use.events:
        if event.replace(" ", "") not in events:
            problems.append(f"{use.name} ({use.interface}) has no event {event}")
    for note in use.notes:  # a LogNote is logged by any function, read-only or not
        if note.replace(" ", "") not in functions:
            problems.append(f"{use.name} ({use.interface}) has no function {note} to log")
    return problems


def surface_problems(uses: Iterable[ContractUse]) -> list[str]:
    hooks = admin_hook_names()
    problems = []
    for use in uses:
        problems += use_problems(use)
        problems += [f"{use.name} calls devnet-only hook {s}" for s in use.signatures() if s.split("(")[0] in hooks]
    return problems


def undeclared_calls(records: Iterable[CallResult | Call], uses: Sequence[ContractUse]) -> list[str]:
    """Calls made (recorded by a `Reader`, or sent) that the declared surface lacks.

    A call is declared when a use at its target address lists it, or a use of contracts found at run time
    (no fixed address: "each pool", "each cToken") does; a call to any other address needs the latter."""
    by_address: dict[str, set[str]] = {}
    for use in uses:
        if use.address is not None:
            by_address.setdefault(use.address.lower(), set()).update(use.signatures())
    anywhere = {sig for use in uses if use.address is None for sig in use.signatures()}
    problems = set()
    for record in records:
        call = record.call if isinstance(record, CallResult) else record
        signature = call.function.signature
        allowed = by_address.get(call.target.lower(), set()) | anywhere
        if signature not in allowed:
            problems.add(f"{call.target}.{signature} is not declared")
    return sorted(problems)


def undeclared_topics(topics: Iterable[bytes], uses: Sequence[ContractUse]) -> list[str]:
    declared = declared_topics(uses)
    return sorted(f"0x{t.hex()} is not a declared event" for t in set(topics) - declared)


def standin_problems(artifact: str, interface_name: str) -> list[str]:
    """Functions of our stand-in that the real contract lacks and that are not listed as admin hooks."""
    real = _functions(interface(interface_name)).keys()
    if artifact in ALSO_REPLICATES:
        real |= _functions(interface(ALSO_REPLICATES[artifact])).keys()
    ours = _functions(contract_artifact(artifact).abi)
    hooks = ADMIN_HOOKS.get(artifact, frozenset())
    extra = [sig for sig in ours if sig not in real and sig.split("(")[0] not in hooks]
    stale = [h for h in hooks if not any(sig.split("(")[0] == h for sig in ours)]
    return [f"{artifact} has {sig}, which {interface_name} lacks" for sig in sorted(extra)] + [
        f"{artifact}: listed hook {h} does not exist" for h in sorted(stale)
    ]


__all__ = ["event_topic", "standin_problems", "surface_problems", "undeclared_calls", "undeclared_topics"]
