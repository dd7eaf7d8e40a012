"""stix2-matcher's own ``MatchListener`` (what stix-shifter's ``stix_bundle`` connector builds)
tests subnets of both address families once huntline's patches are installed: an IPv6 value
no longer fails the whole match with "Invalid IPv4 address" (``MATCHES`` in RE2 is
tests/unit/test_linear_regex.py)."""

from __future__ import annotations

from typing import Any

import pytest
from stix2matcher import matcher

from huntline.fetch.stix import matcher_patches


def observed(sco_type: str, value: str) -> dict[str, Any]:
    return {
        "type": "observed-data",
        "id": f"observed-data--{value}",
        "created": "2024-06-03T00:00:00Z",
        "modified": "2024-06-03T00:00:00Z",
        "first_observed": "2024-06-03T00:00:00Z",
        "last_observed": "2024-06-03T00:00:00Z",
        "number_observed": 1,
        "objects": {"0": {"type": sco_type, "value": value}},
    }


DATA = [
    observed("ipv4-addr", "10.1.2.3"),
    observed("ipv4-addr", "fe80::1"),  # mislabelled, as real telemetry has it
    observed("ipv6-addr", "fe80::1"),
    observed("ipv6-addr", "fe80::/64"),
    observed("ipv6-addr", "not an address"),
]


@pytest.mark.parametrize(
    ("pattern", "ids"),
    [
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", ["10.1.2.3"]),
        ("[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", ["fe80::1"]),
        ("[ipv6-addr:value ISSUBSET 'fe80::/10']", ["fe80::1", "fe80::/64"]),
        ("[ipv6-addr:value ISSUPERSET 'fe80::1']", ["fe80::1", "fe80::/64"]),
        ("[ipv6-addr:value NOT ISSUPERSET 'fe80::1']", ["not an address"]),
    ],
)
def test_stix2_matchers_listener_tests_subnets_of_both_families(
    pattern: str, ids: list[str]
) -> None:
    matcher_patches.install_matcher()
    # One observation at a time: stix2-matcher's match() stops at its first binding.
    matched = [sdo for sdo in DATA if matcher.match(pattern, [sdo], stix_version="2.0")]
    assert [sdo["id"].removeprefix("observed-data--") for sdo in matched] == ids


def test_a_network_the_pattern_writes_that_does_not_parse_is_an_error() -> None:
    matcher_patches.install_matcher()
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        matcher.match("[ipv6-addr:value ISSUBSET 'fe80::/999']", DATA, stix_version="2.0")
