"""SSRF defences for webhooks: a URL's host is resolved once, every address checked, and the check's address used.

    >>> policy = AddressPolicy.of(())
    >>> policy.refusal("hook.example", "93.184.216.34") is None
    True
    >>> policy.refusal("hook.example", "127.0.0.1"), policy.refusal("x", "::ffff:10.0.0.1")
    ('loopback', 'IPv4-mapped IPv6 (of 10.0.0.1)')
    >>> policy.refusal("x", "169.254.169.254"), AddressPolicy.of(("127.0.0.0/8",)).refusal("x", "127.0.0.1")
    ('cloud metadata', None)

Why at connect time: checking a URL when a rule is saved proves nothing about the address it resolves to when a
message is sent (DNS rebinding: a short-lived record answers a public address first and 127.0.0.1 later). So
`GuardedBackend` is httpcore's network backend for webhook clients: it resolves the host itself, refuses the
connection if ANY address is loopback, private, link-local, multicast, reserved, unspecified, cloud metadata or an
IPv6 form of those (IPv4-mapped, 6to4, Teredo), and connects to the very address it checked, so nothing resolves
the name a second time. TLS still verifies the certificate against the URL's host name. Redirects are never
followed (the client is built with `follow_redirects=False`), environment proxies are ignored, and Unix sockets are
refused. `DEFISCOPE_WEBHOOK_ALLOW_HOSTS` exempts named hosts or networks (for local receivers and tests); cloud
metadata addresses are refused even then.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Final, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from defiscope.errors import DefiscopeError

IPAddress = IPv4Address | IPv6Address
#: Instance metadata services (AWS, GCP, Azure: 169.254.169.254; AWS IPv6; ECS task metadata; Alibaba).
CLOUD_METADATA: Final = frozenset(
    ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
ALLOWED_SCHEMES: Final = ("http", "https")


class AddressRefused(DefiscopeError):
    """The webhook's host resolves to an address the SSRF policy refuses (or to none at all)."""


def url_refusal(url: str) -> str | None:
    """Why a webhook URL is refused before any connection (scheme, host), or None. Addresses are checked later."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"scheme {parts.scheme or '(none)'!r} refused: only http and https"
    if not parts.hostname:
        return "no host"
    return None


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why an address is not one a webhook may reach, or None for a public unicast address."""
    if ip in CLOUD_METADATA:
        return "cloud metadata"
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"IPv4-mapped IPv6 (of {ip.ipv4_mapped})"
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (reason := address_refusal(embedded)) is not None:
            return f"{reason} (embedded in {ip})"
    for reason, refused in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    ):
        if refused:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The refusals above, less what the operator allowed by name or network."""

    allowed_names: frozenset[str]
    allowed_networks: tuple[IPv4Network | IPv6Network, ...]

    @classmethod
    def of(cls, allow_hosts: Iterable[str]) -> AddressPolicy:
        names: set[str] = set()
        networks: list[IPv4Network | IPv6Network] = []
        for entry in (e.strip() for e in allow_hosts):
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def refusal(self, host: str, address: str) -> str | None:
        ip = ip_address(address.split("%", 1)[0])  # an IPv6 zone id ("fe80::1%eth0") says nothing here
        if ip in CLOUD_METADATA:
            return "cloud metadata"  # never exempt
        if host.lower().rstrip(".") in self.allowed_names or any(ip in net for net in self.allowed_networks):
            return None
        return address_refusal(ip)


class Resolver(Protocol):
    """Host name to addresses (IP text), in the order to try them."""

    async def resolve(self, host: str, port: int) -> Sequence[str]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo: /etc/hosts, DNS; also IP literals in any form it takes)."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows (see the module docstring)."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver, inner: httpcore.AsyncNetworkBackend) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolver.resolve(host, port)
        if not addresses:
            raise AddressRefused(f"{host} resolves to no address")
        for address in addresses:
            reason = self.policy.refusal(host, address)
            if reason is not None:
                raise AddressRefused(f"{host} resolves to {address}: {reason} (refused: SSRF policy)")
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # the checked addresses themselves: no second resolution
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("Unix sockets are refused for webhooks")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects through `GuardedBackend`.

    httpx has no parameter for the network backend: the pool it builds is replaced by one built the same way
    with ours (no proxy: environment proxies would bypass the check).
    """

    def __init__(self, policy: AddressPolicy, resolver: Resolver | None = None, max_connections: int = 20) -> None:
        super().__init__(trust_env=False)
        backend = GuardedBackend(policy, resolver or SystemResolver(), httpcore.AnyIOBackend())
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=backend,
        )


def guarded_client(
    policy: AddressPolicy, timeout: float, resolver: Resolver | None = None, max_connections: int = 20
) -> httpx.AsyncClient:
    """An httpx client for webhooks: guarded connects, no redirects, no environment proxies, `timeout` per phase."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver, max_connections),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout),
    )
