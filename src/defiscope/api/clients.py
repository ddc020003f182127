"""Who is asking, for rate limits: the client address, through trusted proxies, IPv6 by its /64.

>>> Clients(trusted=("10.0.0.0/8",)).of("10.1.2.3", "198.51.100.7, 10.9.9.9")
'198.51.100.7'
>>> Clients().of("2001:db8:1:2:aaaa::1", None)  # one subscriber gets a whole /64: it counts as one
'2001:db8:1:2::/64'
>>> Clients().of("198.51.100.7", "203.0.113.1")  # X-Forwarded-For from an untrusted peer is ignored
'198.51.100.7'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network


@dataclass(frozen=True, slots=True)
class Clients:
    trusted: Sequence[str] = ()  # proxies (addresses or CIDRs) whose X-Forwarded-For is believed
    _networks: tuple[IPv4Network | IPv6Network, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_networks", tuple(ip_network(n.strip(), strict=False) for n in self.trusted))

    def of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The rate-limit identity of a request from `peer` with that X-Forwarded-For header."""
        address = peer or "unknown"
        if forwarded_for and self._is_trusted(address):
            # The right-most hop a trusted proxy did not add is the client; the left part can be forged.
            for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()][:32]):
                address = hop
                if not self._is_trusted(hop):
                    break
        return _identity(address)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)


def _identity(address: str) -> str:
    try:
        ip = ip_address(address)
    except ValueError:
        return address[:64]  # not an address (a test client's name): itself, bounded
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ip_network(f"{ip}/64", strict=False))
    return str(ip)
