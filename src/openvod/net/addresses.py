"""Which IP addresses a server-side fetch may connect to. Pure; no I/O.

The tables are explicit rather than ``ipaddress``'s ``is_private``/``is_global`` flags, whose
meaning has changed between Python patch releases. IPv6 addresses that embed an IPv4 address
(IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are classified as the
IPv4 address they reach, so ``::ffff:169.254.169.254`` is link-local like ``169.254.169.254``.
Outside the special ranges only global unicast (``2000::/3``) counts as public IPv6.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

__all__ = ["ALWAYS_REFUSED", "AddressKind", "IPAddress", "classify_address", "is_allowed"]

IPAddress = IPv4Address | IPv6Address


class AddressKind(StrEnum):
    GLOBAL = "global"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    SHARED = "shared (carrier-grade NAT)"
    LINK_LOCAL = "link-local"
    METADATA = "cloud metadata service"
    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    RESERVED = "reserved"


# Cloud metadata services hand out instance credentials. Most live in link-local space
# (169.254.169.254, Tencent's 169.254.0.23); the two that do not are listed by hand. No media
# source lives in either, so allow_private opens neither.
ALWAYS_REFUSED = frozenset({AddressKind.LINK_LOCAL, AddressKind.METADATA})

_V4: tuple[tuple[IPv4Network, AddressKind], ...] = tuple(
    (IPv4Network(net), kind)
    for net, kind in (
        ("100.100.100.200/32", AddressKind.METADATA),  # Alibaba Cloud, inside 100.64.0.0/10
        ("0.0.0.0/8", AddressKind.UNSPECIFIED),
        ("10.0.0.0/8", AddressKind.PRIVATE),
        ("100.64.0.0/10", AddressKind.SHARED),
        ("127.0.0.0/8", AddressKind.LOOPBACK),
        ("169.254.0.0/16", AddressKind.LINK_LOCAL),
        ("172.16.0.0/12", AddressKind.PRIVATE),
        ("192.0.0.0/24", AddressKind.RESERVED),  # IETF protocol assignments
        ("192.0.2.0/24", AddressKind.RESERVED),  # documentation
        ("192.88.99.0/24", AddressKind.RESERVED),  # 6to4 relay anycast
        ("192.168.0.0/16", AddressKind.PRIVATE),
        ("198.18.0.0/15", AddressKind.RESERVED),  # benchmarking
        ("198.51.100.0/24", AddressKind.RESERVED),  # documentation
        ("203.0.113.0/24", AddressKind.RESERVED),  # documentation
        ("224.0.0.0/4", AddressKind.MULTICAST),
        ("240.0.0.0/4", AddressKind.RESERVED),  # includes 255.255.255.255
    )
)

_V6: tuple[tuple[IPv6Network, AddressKind], ...] = tuple(
    (IPv6Network(net), kind)
    for net, kind in (
        ("fd00:ec2::254/128", AddressKind.METADATA),  # AWS IMDS over IPv6, inside fc00::/7
        ("::/128", AddressKind.UNSPECIFIED),
        ("::1/128", AddressKind.LOOPBACK),
        ("64:ff9b:1::/48", AddressKind.PRIVATE),  # local-use NAT64
        ("100::/64", AddressKind.RESERVED),  # discard-only
        ("2001::/23", AddressKind.RESERVED),  # IETF protocol assignments, Teredo
        ("2001:db8::/32", AddressKind.RESERVED),  # documentation
        ("3fff::/20", AddressKind.RESERVED),  # documentation
        ("fc00::/7", AddressKind.PRIVATE),  # unique local
        ("fe80::/10", AddressKind.LINK_LOCAL),
        ("fec0::/10", AddressKind.PRIVATE),  # deprecated site-local
        ("ff00::/8", AddressKind.MULTICAST),
    )
)
_V6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")


def classify_address(address: str | IPAddress) -> AddressKind:
    """Return the kind of ``address`` (``ValueError`` if it is not an IP address)."""
    ip = ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv4Address):
        return next((kind for net, kind in _V4 if ip in net), AddressKind.GLOBAL)
    embedded = _embedded_v4(ip)
    if embedded is not None:
        return classify_address(embedded)
    kind = next((kind for net, kind in _V6 if ip in net), None)
    if kind is not None:
        return kind
    return AddressKind.GLOBAL if ip in _V6_GLOBAL_UNICAST else AddressKind.RESERVED


def is_allowed(address: str | IPAddress, *, allow_private: bool) -> bool:
    """True if a fetch may connect to ``address``.

    Only global addresses are allowed by default; ``allow_private`` (for fetching from a LAN or a
    test server) also allows loopback, private, shared, unspecified, multicast and reserved ones,
    but never link-local or cloud-metadata ones.
    """
    kind = classify_address(address)
    if kind is AddressKind.GLOBAL:
        return True
    return allow_private and kind not in ALWAYS_REFUSED


def _embedded_v4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
