"""stix2-matcher's subnet test, for both address families, inside stix-shifter's connectors.

stix-shifter's ``stix_bundle`` connector (the ``http(s)://`` bundle source) matches patterns
with stix2-matcher in this process, and stix2-matcher's ``ISSUBSET``/``ISSUPERSET`` parse every
address as IPv4: the first ``fe80::…`` or ``::1`` in a bundle failed the whole fetch with
"Invalid IPv4 address". huntline's own bundle reader overrides those two tests in its listener
(:mod:`.bundle`); a connector builds stix2-matcher's listener itself, so :func:`install`
replaces the module function both tests call (stix-shifter patches the same module in the same
way for its START/STOP fix). The replacement follows :mod:`huntline.networks`: an address or
block of the other family, or a value that is no address at all, is not inside.
"""

from __future__ import annotations

from stix2matcher import matcher as stix2matcher

from huntline import networks

__all__ = ["install"]


def install() -> None:
    """Make stix2-matcher's subnet tests those of :mod:`huntline.networks` (idempotent)."""
    stix2matcher._ip_or_cidr_in_subnet = in_subnet


def in_subnet(ip_or_cidr: object, subnet: object) -> bool:
    """Whether ``ip_or_cidr`` lies inside ``subnet`` (stix2-matcher's signature: for ISSUBSET
    the data value and the pattern's block, for ISSUPERSET the other way round); false when
    either is not an address or block, or their families differ."""
    outer = networks.parse_value(subnet)
    return outer is not None and networks.contains(outer, ip_or_cidr)
