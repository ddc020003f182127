"""What the chain layer is told by its caller: RPC timeouts, attempts, batch sizes and each endpoint's limits.

Plain values, passed in: the chain layer never reads files or the environment (`defiscope.config` builds
these from TOML and the environment and hands them down).

    >>> rpc = RpcSettings(timeout=5.0)
    >>> rpc.limits_for("http://127.0.0.1:8545") is UNLIMITED, rpc.limits_for("https://eth.example") is FREE_PLAN
    (True, True)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from defiscope.chain.limits import FREE_PLAN, UNLIMITED, EndpointLimits


@dataclass(frozen=True, slots=True)
class RpcSettings:
    timeout: float = 10.0
    max_attempts: int = 4
    max_batch_items: int = 1000
    max_concurrency: int = 8
    #: Limits of a remote endpoint that sets none of its own (`[rpc.limits]`).
    limits: EndpointLimits = FREE_PLAN
    #: Limits per endpoint URL (`rpc = [{ url = ..., requests_per_second = ... }]`).
    endpoints: Mapping[str, EndpointLimits] = field(default_factory=dict)

    def limits_for(self, url: str) -> EndpointLimits:
        """The URL's own limits; else none for a loopback node, the `[rpc.limits]` defaults for the rest."""
        if url in self.endpoints:
            return self.endpoints[url]
        return UNLIMITED if is_loopback(url) else self.limits


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (a devnet, the user's own node): no provider limits apply."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
