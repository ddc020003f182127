"""The adapter contract: what every protocol adapter returns, and the provenance of how it got it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One contract call an adapter made, kept for provenance."""

    target: str
    function: str  # signature, e.g. "getReserves()"
    args: tuple[object, ...]
    result: object  # decoded, JSON-serialisable
    success: bool = True
