"""What each protocol's figure counts, how its contracts are found, and exactly what is read where.

Built from the adapters themselves on the mainnet registry (no RPC needed): each adapter's `ProtocolInfo`
(counts, discovery, differences from DefiLlama) and its declared `surface()` per chain — the contracts with
their addresses, the function signatures called and the events scanned. The same declarations are checked
against the real ABIs by ``tests/mainnet/``, so this page cannot drift from the code.

    >>> [entry["slug"] for entry in methodology("lido")]
    ['lido']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from defiscope.deployments.mainnet import MAINNET_CHAINS, mainnet
from defiscope.errors import InputError
from defiscope.protocols.registry import adapters_for, known_protocols
from defiscope.protocols.surface import ContractUse


class UnknownProtocol(InputError):
    """A slug no adapter has."""


def _contract(use: ContractUse) -> dict[str, Any]:
    return {
        "name": use.name,
        "address": use.address,
        "interface": use.interface,
        "calls": list(use.signatures()),
        "events": list(use.events),
        "notes": list(use.notes),  # dss LogNotes scanned (anonymous; topic0 = the function's selector)
    }


#: What a protocol of a category leaves out of its figure, and why (the TVL engine's rules, with their numbers).
NotCountedRules = Callable[[str], Sequence[str]]


def methodology(slug: str | None = None, *, not_counted: NotCountedRules | None = None) -> list[dict[str, Any]]:
    """One entry per protocol (or just ``slug``): ``{"slug", "name", "counts", "defillama_difference",
    "methodology", "not_counted", "chains": [{"chain_id", "discovery", "contracts": [...]}]}``.

    ``not_counted(category)`` gives the rules on what is left out (the caller's valuation policy: this layer
    does not know it); none when omitted."""
    infos = known_protocols()
    if slug is not None and slug not in infos:
        raise UnknownProtocol(f"unknown protocol {slug!r}; known: {', '.join(sorted(infos))}")
    wanted = [slug] if slug is not None else sorted(infos)
    chains: dict[str, list[dict[str, Any]]] = {s: [] for s in wanted}
    for chain_id in MAINNET_CHAINS:
        for adapter in adapters_for(mainnet(chain_id)):
            if adapter.info.slug in chains:
                chains[adapter.info.slug].append(
                    {
                        "chain_id": chain_id,
                        "discovery": adapter.info.discovery,
                        "contracts": [_contract(use) for use in adapter.surface()],
                    }
                )
    return [
        {
            "slug": s,
            "name": infos[s].name,
            "category": infos[s].category,
            "counts": infos[s].counts or infos[s].methodology,
            "defillama_difference": infos[s].defillama_difference,
            "methodology": infos[s].methodology,
            "not_counted": list(not_counted(infos[s].category)) if not_counted is not None else [],
            "chains": chains[s],
        }
        for s in wanted
    ]
