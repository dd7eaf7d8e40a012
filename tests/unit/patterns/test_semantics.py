"""STIX's case and type rules, IPv6, EXISTS and tables, case by case; errors in full."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from huntline.errors import PatternError
from huntline.fetch.sources.matcher import reference_match
from huntline.fetch.tables.flatten import flatten_arrow
from huntline.patterns import compile_pattern


def observation(number: int, **objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "observed-data",
        "id": f"observed-data--{number}",
        "first_observed": "2021-05-03T10:00:00Z",
        "last_observed": "2021-05-03T10:05:00Z",
        "number_observed": 1,
        "objects": objects,
    }


OBSERVED = [
    observation(
        0,
        **{
            "0": {"type": "process", "pid": 4, "name": "cmd.exe", "parent_ref": "1"},
            "1": {"type": "process", "pid": 1, "name": "Explorer.EXE", "binary_ref": "2"},
            "2": {"type": "file", "name": "explorer.exe", "payload_bin": "aGk="},
        },
    ),
    observation(1, **{"0": {"type": "ipv6-addr", "value": "2001:db8::17"}}),
    observation(2, **{"0": {"type": "ipv4-addr", "value": "10.1.2.3"}}),
    observation(3, **{"0": {"type": "process", "name": "naïve\u0301.exe", "is_hidden": True}}),
    observation(4, **{"0": {"type": "process", "name": None, "command_line": "a\nb"}}),
]


def matched(pattern: str) -> list[int]:
    keep = compile_pattern(pattern).match_observations(OBSERVED)
    return [index for index, kept in enumerate(keep) if kept]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv6-addr:value ISSUBSET '2001:db8::/32']", [1]),
        ("[ipv6-addr:value ISSUBSET '10.0.0.0/8']", []),  # the other family: false
        ("[ipv6-addr:value NOT ISSUBSET '10.0.0.0/8']", [1]),  # ... so NOT is true
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8' OR ipv6-addr:value ISSUBSET '::/0']", [1, 2]),
        ("[ipv4-addr:value ISSUPERSET '10.1.2.3']", [2]),
        ("[process:pid != '4']", [0]),  # an int is never equal to text, so != holds
        ("[process:pid = 4.0]", [0]),
        ("[process:is_hidden = 1]", []),  # a boolean is not a number
        ("[process:is_hidden IN (1, 2)]", [3]),  # ... but IN is Python's `in`: true == 1
        ("[process:name LIKE 'explorer%']", []),  # LIKE is case-sensitive
        ("[process:name MATCHES '(?i)^explorer']", [0]),
        ("[process:name = 'naïve\u0301.exe']", [3]),
        ("[process:name LIKE 'na\u00efve\u0301%']", [3]),  # LIKE and MATCHES compare in NFC
        ("[process:command_line LIKE 'a%']", []),  # % does not cross a newline
        ("[process:name != 'x']", [0, 3, 4]),  # null is a value of another type
        ("[EXISTS process:name]", [0, 3, 4]),
        ("[NOT EXISTS process:command_line]", [0, 3]),
        ("[process:parent_ref.binary_ref.name = 'explorer.exe']", [0]),
        ("[file:payload_bin = 'hi']", [0]),  # *_bin is base64 bytes, text as Latin-1
        ("[process:name = 'cmd.exe' AND file:name = 'explorer.exe']", []),  # one root SCO
        (
            "[process:name = 'cmd.exe'] START t'2021-05-03T10:05:00Z' STOP t'2021-05-04T00:00:00Z'",
            [0],
        ),  # touching at the start counts
        (
            "[process:name = 'cmd.exe'] START t'2021-05-03T09:00:00Z' STOP t'2021-05-03T10:00:00Z'",
            [],
        ),  # touching at the stop does not
    ],
)
def test_rules(pattern: str, expected: list[int]) -> None:
    assert matched(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "[process:pid != '4']",
        "[process:pid = 4.0]",
        "[process:is_hidden IN (1, 2)]",
        "[process:name != 'x']",
        "[process:parent_ref.binary_ref.name = 'explorer.exe']",
        "[file:payload_bin = 'hi']",
        "[process:name = 'cmd.exe' AND file:name = 'explorer.exe']",
    ],
)
def test_the_rules_are_stix2_matchers(pattern: str) -> None:
    ids = reference_match(pattern, OBSERVED)
    assert matched(pattern) == [i for i, obs in enumerate(OBSERVED) if obs["id"] in ids]


def test_a_table_keeps_the_entities_that_satisfy_the_pattern() -> None:
    processes = flatten_arrow(OBSERVED, "process")
    pattern = compile_pattern(
        "[process:parent_ref.binary_ref.name = 'explorer.exe' OR process:pid < 2]"
    )
    kept = processes.filter(pattern.table_mask(processes, "process"))
    assert sorted(kept.column("name").to_pylist()) == ["Explorer.EXE", "cmd.exe"]


def test_a_table_has_one_type() -> None:
    table = pa.table({"name": ["cmd.exe"]})
    mask = compile_pattern("[process:name = 'cmd.exe' OR file:name = 'cmd.exe']")
    assert mask.table_mask(table, "process").to_pylist() == [True]
    with pytest.raises(PatternError) as error:
        compile_pattern("[file:name = 'cmd.exe']").table_mask(table, "process")
    assert str(error.value) == (
        "STIX pattern \"[file:name = 'cmd.exe']\" compares only file properties, so it cannot "
        "select rows of a process table"
    )


def test_errors_name_the_part_that_cannot_be_evaluated() -> None:
    with pytest.raises(PatternError) as error:
        compile_pattern("[process:name = 'a'] FOLLOWEDBY [process:name = 'b']")
    assert str(error.value) == (
        "STIX pattern \"[process:name = 'a'] FOLLOWEDBY [process:name = 'b']\": "
        "\"[process:name = 'a'] FOLLOWEDBY [process:name = 'b']\" cannot be evaluated locally: "
        "FOLLOWEDBY relates several observations\n"
        "  hint: local evaluation takes observation expressions [...] joined by OR, each with "
        "an optional START t'..' STOP t'..'"
    )
    with pytest.raises(PatternError) as error:
        compile_pattern("[process:name MATCHES '^cmd(?=[.]exe)']")
    assert str(error.value) == (
        "\"process:name MATCHES '^cmd(?=[.]exe)'\": '^cmd(?=[.]exe)' is not usable here: "
        "regex '^cmd(?=[.]exe)' is not valid RE2: invalid perl operator: (?="
    )
    with pytest.raises(PatternError) as error:
        table = pa.table({"protocols": ['["tcp"]']})
        compile_pattern("[network-traffic:protocols[*] = 'tcp']").table_mask(
            table, "network-traffic"
        )
    assert str(error.value) == (
        "\"network-traffic:protocols[*] = 'tcp'\" cannot be evaluated on a table: it indexes "
        "a list, and tables hold lists as JSON text\n"
        "  hint: compare the list column's text instead, e.g. with MATCHES"
    )
