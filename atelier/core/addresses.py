"""The one address guard of every outbound call: provider requests and downloads, delivery
targets (webhooks, Slack, a CMS, an S3 endpoint, Shopify) and reference images from a sheet.

Two rules, checked on every address a host resolves to (a name that resolves to several
addresses is refused when any one of them is):

* cloud metadata services and link-local addresses are never called, whoever named them:
  ``169.254.0.0/16`` (AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack metadata),
  ``fe80::/10``, ``fd00:ec2::254`` (AWS over IPv6), ``100.100.100.200`` (Alibaba Cloud),
  ``168.63.129.16`` (Azure's wire server), also when written inside an IPv6 address
  (``::ffff:169.254.169.254``, 6to4, NAT64), and the names ``metadata.google.internal``,
  ``metadata``… that resolve to them inside a cloud (they are refused by name too, as they may
  not resolve outside one);
* loopback, private, shared (carrier-grade NAT), reserved, multicast and unspecified
  addresses only when the user set that very host (a self-hosted server, a local proxy, the
  tests' receivers on 127.0.0.1): an address a provider hands back, or a redirect to another
  host, must be a public one.

A host that does not resolve is let through: the call then fails as a network error. The check
resolves the name itself, so a server whose DNS answer changes between the check and the
connection (DNS rebinding) is not covered.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_HOSTS = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
"""Names of cloud metadata services (refused by name, whatever they resolve to)."""

METADATA_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
    ipaddress.ip_network("168.63.129.16/32"),
)
"""Link-local networks and the metadata services' own addresses."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): not public

Refusal = Literal["metadata", "private"]


class AddressRefusedError(Exception):
    """An outbound call refused before it was made.

    Attributes:
        host: the host as it was named in the URL.
        kind: ``"metadata"`` (a cloud metadata or link-local address: never called) or
            ``"private"`` (loopback/private/reserved, called only on a host the user set).
    """

    def __init__(self, host: str, kind: Refusal) -> None:
        super().__init__(f"{host}: {kind}")
        self.host = host
        self.kind = kind


def _embedded_v4(a: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), if any."""
    if not isinstance(a, ipaddress.IPv6Address):
        return None
    if a.ipv4_mapped is not None:
        return a.ipv4_mapped
    if a.sixtofour is not None:
        return a.sixtofour
    if a in _NAT64:
        return ipaddress.IPv4Address(int(a) & 0xFFFFFFFF)
    return None


def is_metadata_address(a: IPAddress) -> bool:
    """Whether ``a`` is link-local or a cloud metadata service (``METADATA_NETWORKS``)."""
    inner = _embedded_v4(a)
    if inner is not None and is_metadata_address(inner):
        return True
    return a.is_link_local or any(a in net for net in METADATA_NETWORKS if a.version == net.version)


def is_public_address(a: IPAddress) -> bool:
    """Whether ``a`` is neither loopback, private, link-local, multicast, reserved nor
    unspecified (nor one of those written inside an IPv6 address)."""
    inner = _embedded_v4(a)
    if inner is not None and not is_public_address(inner):
        return False
    return not (
        a.is_loopback
        or a.is_private
        or a.is_link_local
        or a.is_multicast
        or a.is_reserved
        or a.is_unspecified
        or (isinstance(a, ipaddress.IPv4Address) and a in _SHARED)
        or is_metadata_address(a)
    )


def normal_host(host: str) -> str:
    """``host`` as compared: lower case, without IPv6 brackets, zone or a trailing dot."""
    return host.strip().strip("[]").split("%")[0].rstrip(".").lower()


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def judge(host: str, addresses: list[IPAddress], *, user_set: bool) -> Refusal | None:
    """The refusal for a call to ``host`` resolving to ``addresses`` (``None``: allowed).
    ``user_set``: the user named this very host (private addresses are then allowed)."""
    if normal_host(host) in METADATA_HOSTS or any(is_metadata_address(a) for a in addresses):
        return "metadata"
    if not user_set and not all(is_public_address(a) for a in addresses):
        return "private"
    return None


def _addresses_of(infos: list[tuple[object, ...]]) -> list[IPAddress]:
    out: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)
        out.append(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
    return out


def _known_addresses(host: str) -> tuple[str, list[IPAddress] | None]:
    """``host`` normalised, and its address when it is written as one (``None``: it must be
    resolved). A cloud metadata name is refused before any lookup.

    Raises:
        AddressRefusedError: a metadata name.
    """
    name = normal_host(host)
    literal = _literal(name)
    if literal is not None:
        return name, [literal]
    if name in METADATA_HOSTS:
        raise AddressRefusedError(host, "metadata")
    return name, None


def _refuse(host: str, addresses: list[IPAddress], *, user_set: bool) -> None:
    kind = judge(host, addresses, user_set=user_set)
    if kind is not None:
        raise AddressRefusedError(host, kind)


async def check_host(host: str, *, user_set: bool) -> None:
    """Refuse a call to ``host`` per the module's rules, resolving it without blocking.

    Raises:
        AddressRefusedError: naming the host and why.
    """
    name, addresses = _known_addresses(host)
    if addresses is None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None)
        except (OSError, UnicodeError):
            return
        addresses = _addresses_of(list(infos))
    _refuse(host, addresses, user_set=user_set)


def check_host_sync(host: str, *, user_set: bool) -> None:
    """``check_host`` for code running in a worker thread (boto3, blocking downloads).

    Raises:
        AddressRefusedError: naming the host and why.
    """
    name, addresses = _known_addresses(host)
    if addresses is None:
        try:
            infos = socket.getaddrinfo(name, None)
        except (OSError, UnicodeError):
            return
        addresses = _addresses_of(list(infos))
    _refuse(host, addresses, user_set=user_set)
