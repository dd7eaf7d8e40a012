"""IPv4 and IPv6 alike in every address test (issue 23 item 1): the rule, the STIX matcher
(stix2-matcher wrapped), the vectorized entity filter and the condition function agree."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from huntline import networks
from huntline.expressions import evaluate, parse_condition
from huntline.fetch.sources.bundle import match_all
from huntline.fetch.tables.select import entity_filter

VALUES = [
    "10.1.2.3",
    "8.8.8.8",
    "fe80:0:0:0:950c:ff99:129:5107",  # kestrel-lang's doctored-1k.json
    "0:0:0:0:0:0:0:1",  # ::1 as Windows recordings write it
    "fd12:3456:789a::1",
    "2001:db8::66",
    "::ffff:10.0.0.5",  # IPv4-mapped: the IPv4 address it carries
    "192.168.0.0/24",
    "not an address",
]
INSIDE = {
    "10.0.0.0/8": ["10.1.2.3", "::ffff:10.0.0.5"],
    "fe80::/10": ["fe80:0:0:0:950c:ff99:129:5107"],
    "::1/128": ["0:0:0:0:0:0:0:1"],
    "fc00::/7": ["fd12:3456:789a::1"],
    "192.168.0.0/16": ["192.168.0.0/24"],
    "::/0": VALUES[2:6],
}


@pytest.mark.parametrize("block", INSIDE)
def test_the_rule(block: str) -> None:
    outer = networks.network(block)
    assert [v for v in VALUES if networks.contains(outer, v)] == INSIDE[block]


def test_private_networks_cover_both_families() -> None:
    private = [networks.network(block) for block in networks.PRIVATE_NETWORKS]
    assert [v for v in VALUES if networks.in_any(v, private)] == [
        "10.1.2.3",
        "fe80:0:0:0:950c:ff99:129:5107",
        "0:0:0:0:0:0:0:1",
        "fd12:3456:789a::1",
        "::ffff:10.0.0.5",
        "192.168.0.0/24",
    ]


def observation(index: int, value: str) -> dict[str, object]:
    kind = "ipv6-addr" if ":" in value else "ipv4-addr"
    return {
        "type": "observed-data",
        "id": f"observed-data--{index}",
        "first_observed": "2019-11-16T12:55:30.348Z",
        "last_observed": "2019-11-16T12:55:30.348Z",
        "number_observed": 1,
        "objects": {
            "0": {"type": kind, "value": value},
            "1": {"type": "network-traffic", "dst_ref": "0", "dst_port": 5357},
        },
    }


@pytest.mark.parametrize("block", INSIDE)
@pytest.mark.parametrize("negated", [False, True])
def test_the_matcher_and_the_entity_filter_agree_with_the_rule(block: str, negated: bool) -> None:
    """stix2-matcher raised "Invalid IPv4 address: fe80:0:0:0:950c:ff99:129:5107" here."""
    observed = [observation(i, value) for i, value in enumerate(VALUES)]
    pattern = (
        f"[network-traffic:dst_port > 0 AND "
        f"network-traffic:dst_ref.value {'NOT ' if negated else ''}ISSUBSET '{block}']"
    )
    expected = [v for v in VALUES if (v in INSIDE[block]) != negated]
    matched = match_all(pattern, observed, source="test")
    assert [VALUES[int(o["id"].split("--")[1])] for o in matched] == expected  # type: ignore[attr-defined]
    table = pa.table({"dst_port": [5357] * len(VALUES), "dst_ref.value": VALUES})
    kept = table.filter(entity_filter(pattern, "network-traffic").mask(table))
    assert kept["dst_ref.value"].to_pylist() == expected


def test_issuperset_on_both_families() -> None:
    observed = [observation(i, v) for i, v in enumerate(["10.0.0.0/8", "fe80::/10", "x"])]
    matched = match_all("[ipv6-addr:value ISSUPERSET 'fe80::1']", observed, source="t")
    assert [o["id"] for o in matched] == ["observed-data--1"]


def test_cidr_in_conditions() -> None:
    """The condition language's cidr (Sigma's |cidr) follows the same rule."""
    table = pd.DataFrame({"dst_ref.value": [*VALUES, None]})
    for block, inside in INSIDE.items():
        condition = parse_condition(f"dst_ref.value cidr '{block}'")
        assert table["dst_ref.value"][evaluate(condition, table)].tolist() == inside


def test_a_bad_block_in_a_pattern_is_an_error() -> None:
    with pytest.raises(Exception, match="'fe80::/200'"):
        match_all("[ipv6-addr:value ISSUBSET 'fe80::/200']", [observation(0, "::1")], source="t")


def test_stix2_matchers_own_listener_follows_the_rule_inside_stix_shifter() -> None:
    """The http(s):// bundle source is stix-shifter's stix_bundle connector, which builds
    stix2-matcher's own listener: its subnet test is replaced when huntline loads stix-shifter."""
    from stix2matcher.matcher import match

    import huntline.fetch.sources.stixshifter  # noqa: F401  (installs the subnet test)

    observed = [observation(i, value) for i, value in enumerate(VALUES)]
    for block, inside in INSIDE.items():
        pattern = f"[network-traffic:dst_ref.value NOT ISSUBSET '{block}']"
        kept = [VALUES[i] for i, obs in enumerate(observed) if match(pattern, [obs])]
        assert kept == [v for v in VALUES if v not in inside]
