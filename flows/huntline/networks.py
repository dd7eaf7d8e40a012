"""Address-in-network tests that treat IPv4 and IPv6 alike: the one rule for ISSUBSET,
ISSUPERSET and the condition function ``in_network``.

Real Windows telemetry is full of IPv6 (``::1``, ``fe80::…`` link-local, ``fc00::/7`` unique
local): a network hunt that excludes ``10.0.0.0/8`` must not fail on ``fe80::1`` (stix2-matcher
raised "Invalid IPv4 address") but simply find it outside. So, wherever huntline evaluates a
pattern or a condition:

- an address or a CIDR block is inside a network when both are of the same family and the
  network contains it (``ipaddress``'s ``subnet_of``); an address is a block of one;
- a value of the other family, or one that is not an address at all (null, ``"abc"``, a
  number), is simply not inside: the test is false (and ``NOT ISSUBSET`` true), never an error;
- a *network* written in a book or a pattern that does not parse is the author's mistake and
  raises ``ValueError`` (validate reports it).

IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are compared as the IPv4 address they carry,
so the IPv4 exclusions cover them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["PRIVATE_NETWORKS", "Network", "contains", "network", "parse_value"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Private, loopback and link-local ranges of both families: the destinations an outbound
#: hunt leaves out (the books write them in their patterns; this list is what tests hold
#: them to).
PRIVATE_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
)


@lru_cache(maxsize=256)
def network(text: str) -> Network:
    """The network a book or pattern wrote (``10.0.0.0/8``, ``fe80::/10``, or one address).

    Raises:
        ValueError: ``text`` is not an IP address or CIDR block.
    """
    return ipaddress.ip_network(text.strip(), strict=False)


@lru_cache(maxsize=65536)
def parse_value(value: object) -> Network | None:
    """A data value as a network (an address is a block of one), or None when it is none."""
    if not isinstance(value, str):
        return None
    try:
        parsed = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Network) and parsed.prefixlen == 128:
        mapped = parsed.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.ip_network(mapped)
    return parsed


def contains(outer: Network, value: object) -> bool:
    """Whether ``value`` (an address or block, as text) lies inside ``outer``; false for a
    value of the other family or no address at all."""
    inner = parse_value(value)
    if inner is None or inner.version != outer.version:
        return False
    return inner.subnet_of(outer)  # type: ignore[arg-type]


def contained_by(value: object, inner: Network) -> bool:
    """ISSUPERSET: whether ``value`` (a block, as text) holds ``inner``; false as above."""
    outer = parse_value(value)
    if outer is None or outer.version != inner.version:
        return False
    return inner.subnet_of(outer)  # type: ignore[arg-type]


def in_any(value: object, networks: Iterable[Network]) -> bool:
    """Whether ``value`` lies inside any of ``networks``."""
    return any(contains(outer, value) for outer in networks)
