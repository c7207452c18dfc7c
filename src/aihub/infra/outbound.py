"""The outbound URL policy: which addresses aihub may contact for a user.

URLs a user supplies (a user's provider key ``base_url``, image links) and the
result files a provider reports on another host go through one policy:

- only ``http`` and ``https``, no ``user:password@``;
- the host is resolved (the loop's getaddrinfo, or the resolver given) and every
  address must be public: loopback, private (RFC 1918, ``fc00::/7``), shared
  (CGNAT ``100.64/10``), link-local, multicast, unspecified, reserved and cloud
  metadata addresses are refused, also when spelled as IPv4-mapped, IPv4-compatible,
  NAT64 or 6to4 IPv6, or as a decimal/octal/hex IPv4 (``2130706433``, ``0177.0.0.1``);
- ``AIHUB_OUTBOUND_ALLOW`` (CIDRs and host names, ``*.corp.example`` for a domain)
  opens chosen internal addresses.

``guarded_session`` builds the aiohttp session that enforces it on every
connection: its resolver checks the addresses and hands the connector only those
(so the connection goes to the address checked: no DNS rebinding), a client
middleware checks IP-literal hosts on every request and on every redirect hop
(aiohttp follows at most 10), and no proxy applies. (A URL's ``user:password@``
is refused by ``check_url`` when a user saves it; aiohttp itself turns one into
an Authorization header for the checked host, never into another host.) A refusal
raises ``OutboundRefusedError`` before any socket is opened.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_middlewares import ClientHandlerType, ClientMiddlewareType

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HINT = "ask an administrator to allow it with AIHUB_OUTBOUND_ALLOW"
SCHEMES = frozenset({"http", "https"})
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server (a public address)
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPAT = ipaddress.ip_network("::/96")


class LoopResolver(AbstractResolver):
    """The running loop's getaddrinfo (a thread), built outside any loop."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family
        )
        results: list[ResolveResult] = []
        for info_family, _type, proto, _name, address in infos:
            if info_family not in (socket.AF_INET, socket.AF_INET6):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": str(address[0]),
                    "port": int(address[1]),
                    "family": info_family,
                    "proto": proto,
                    "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                }
            )
        if not results:
            raise OSError(f"no address for {host}")
        return results

    async def close(self) -> None:
        return None


class OutboundRefusedError(aiohttp.ClientConnectionError):
    """The policy refuses a URL; ``rule`` says why (``resolves to a loopback
    address (127.0.0.1)``). A ``ClientError``: code that handles aiohttp's
    failures sees it, and no socket was opened for it."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(rule)

    def explain(self, subject: str) -> str:
        """The message for users: ``base_url resolves to ...; ask an administrator
        to allow it with AIHUB_OUTBOUND_ALLOW`` (the hint only for addresses)."""
        if "address" in self.rule or "metadata" in self.rule:
            return f"{subject} {self.rule}; {ALLOW_HINT}"
        return f"{subject} {self.rule}"


def refusal(ip: IPAddress) -> str | None:
    """The kind of address ``ip`` is when users may not reach it, else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return refusal(embedded)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_multicast:
        return "a multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (CGNAT)"
    if ip.is_private:
        return "a private"
    if ip.is_reserved:
        return "a reserved"
    if not ip.is_global:
        return "a non-public"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped (``::ffff:a.b.c.d``),
    compatible (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``) or 6to4."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64) or (
        ip in _IPV4_COMPAT and int(ip) > 1  # not :: nor ::1 (checked as IPv6)
    ):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_ip(host: str) -> IPAddress | None:
    """``host`` as an address when it is one, in any spelling the OS resolver
    accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``[::1]``,
    ``fe80::1%eth0``)."""
    bare = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not bare or not all(c in "0123456789abcdefxABCDEFX." for c in bare):
        return None
    try:  # the legacy numeric forms inet_aton takes (what getaddrinfo would do)
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """What users may reach; ``allow`` entries open networks and host names."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()
    """``*.corp.example`` entries, kept as ``.corp.example``."""
    resolver: AbstractResolver = field(default_factory=LoopResolver)

    @classmethod
    def from_allow(
        cls, allow: Iterable[str], *, resolver: AbstractResolver | None = None
    ) -> OutboundPolicy:
        """Parse ``AIHUB_OUTBOUND_ALLOW`` entries: ``10.1.2.3``, ``10.0.0.0/8``,
        ``fd12::/16``, ``vllm.corp.example``, ``*.corp.example``."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        domains: list[str] = []
        for raw in allow:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                domains.append(_normal_host(entry[1:]))
            else:
                hosts.add(_normal_host(entry))
        return cls(
            networks=tuple(networks),
            hosts=frozenset(hosts),
            domains=tuple(domains),
            resolver=resolver or LoopResolver(),
        )

    def allows_host(self, host: str) -> bool:
        name = _normal_host(host)
        return name in self.hosts or any(
            name.endswith(domain) for domain in self.domains
        )

    def address_refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused (``a loopback``), None when users may reach it."""
        if any(ip in net for net in self.networks if net.version == ip.version):
            return None
        mapped = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        if mapped is not None and any(
            mapped in net for net in self.networks if net.version == 4
        ):
            return None
        return refusal(ip)

    def check_address(self, ip: IPAddress, *, via: str | None = None) -> None:
        kind = self.address_refusal(ip)
        if kind is not None:
            verb = "resolves to" if via else "is"
            raise OutboundRefusedError(f"{verb} {kind} address ({ip})")

    def check_target(self, url: yarl.URL) -> str | None:
        """Scheme, userinfo and literal-address checks (no DNS); the host name
        still to resolve, None when nothing more is needed."""
        if url.scheme not in SCHEMES:
            raise OutboundRefusedError(
                f"uses the scheme {url.scheme or '(none)'!r} (only http and https)"
            )
        if url.raw_user is not None or url.raw_password is not None:
            raise OutboundRefusedError("carries a user name or password (user@host)")
        host = url.raw_host
        if not host:
            raise OutboundRefusedError("has no host")
        if self.allows_host(host):
            return None
        ip = parse_ip(host)
        if ip is not None:
            self.check_address(ip)
            return None
        if _normal_host(host) in METADATA_HOSTS:
            raise OutboundRefusedError(f"names a cloud metadata host ({host})")
        return host

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses of ``host``, each checked (refused: the error, before
        any connection); an allowed host name skips the address checks. A
        failed lookup raises the resolver's OSError."""
        if _normal_host(host) in METADATA_HOSTS and not self.allows_host(host):
            raise OutboundRefusedError(f"names a cloud metadata host ({host})")
        results = await self.resolver.resolve(host, port, family)
        if not self.allows_host(host):
            for result in results:
                self.check_address(ipaddress.ip_address(result["host"]), via=host)
        return results

    async def check_url(self, url: str | yarl.URL) -> yarl.URL:
        """The parsed URL when users may reach it, else OutboundRefusedError."""
        try:
            parsed = url if isinstance(url, yarl.URL) else yarl.URL(url)
        except (ValueError, TypeError) as exc:
            raise OutboundRefusedError("is not a valid URL") from exc
        host = self.check_target(parsed)
        if host is not None:
            try:
                await self.resolve(host, parsed.port or 0, socket.AF_UNSPEC)
            except OSError as exc:
                raise OutboundRefusedError(
                    f"has a host that does not resolve ({host})"
                ) from exc
        return parsed


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` has the scheme, host and port of ``base``."""
    try:
        a, b = yarl.URL(url), yarl.URL(base)
    except (ValueError, TypeError):
        return False
    return (
        a.scheme == b.scheme
        and a.port == b.port
        and (_normal_host(a.raw_host or "") == _normal_host(b.raw_host or "") != "")
    )


class GuardedResolver(AbstractResolver):
    """The connector's resolver: every address checked, only checked ones used."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return await self._policy.resolve(host, port, family)

    async def close(self) -> None:
        await self._policy.resolver.close()


def _middleware(policy: OutboundPolicy) -> ClientMiddlewareType:
    async def check_request(
        request: aiohttp.ClientRequest, handler: ClientHandlerType
    ) -> aiohttp.ClientResponse:
        policy.check_target(request.url)  # hosts by name: the resolver checks
        return await handler(request)

    return check_request


def guarded_session(
    policy: OutboundPolicy,
    *,
    limit: int = 1000,
    keepalive_s: float = 60.0,
    timeout: aiohttp.ClientTimeout | None = None,
    headers: dict[str, str] | None = None,
    json_serialize: Any = None,
) -> aiohttp.ClientSession:
    """A session that reaches only what ``policy`` lets users reach (build it in
    the running loop, close it like any session). Its connections are never
    shared with the trusted session's, so a connection an admin's key opened to
    an internal host cannot be reused by a user's call."""
    connector = aiohttp.TCPConnector(
        limit=limit,
        keepalive_timeout=keepalive_s,
        ttl_dns_cache=60,
        resolver=GuardedResolver(policy),
    )
    kwargs: dict[str, Any] = {}
    if json_serialize is not None:
        kwargs["json_serialize"] = json_serialize
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout or aiohttp.ClientTimeout(total=None, sock_connect=10.0),
        headers=headers,
        trust_env=False,
        raise_for_status=False,
        middlewares=(_middleware(policy),),
        **kwargs,
    )
