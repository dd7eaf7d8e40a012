"""Row filters from STIX patterns: the entities Kestrel's GET would keep, not whole observations."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import pyarrow as pa
import pytest
from stix2matcher.matcher import match

from huntline.errors import FetchError
from huntline.fetch import flatten
from huntline.fetch.tables.select import entity_filter

REPO = Path(__file__).resolve().parents[3]

PROCESSES = pa.table(
    {
        "type": ["process"] * 5,
        "name": ["cmd.exe", "WINWORD.EXE", "net.exe", None, "powershell.exe"],
        "pid": [880, 1200, 4012, 7, 66],
        "command_line": ["cmd /c net user", "winword.exe /n", "net  user admin", None, "ps\n-enc"],
        "parent_ref.name": ["WINWORD.EXE", "explorer.exe", "cmd.exe", None, None],
        "binary_ref.name": ["cmd.exe", "WINWORD.EXE", "net.exe", None, None],
        "created": [
            "2024-05-01T10:00:00Z",
            "2024-05-01T09:59:59.500Z",
            "2024-05-01T10:00:01.25Z",
            None,
            "not a time",
        ],
        "x_elevated": ["1", "0", "true", None, "false"],
    }
)
TRAFFIC = pa.table(
    {
        "src_ref.value": ["10.0.0.5", "192.168.1.9", "10.1.0.0/16", None, "fe80::1"],
        "dst_port": pa.array(["80", "443", "n/a", None, "8080"]),  # numbers stored as text
        "protocols": ['["ipv4","tcp"]', '["ipv4","udp"]', '["tcp"]', None, "[]"],
    }
)
FILES = pa.table({"hashes.'SHA-256'": ["aa11", "bb22", None], "size": [10, 2000, 30]})


def masks(pattern: str, entity: str, table: pa.Table) -> list[bool]:
    """The mask of ``table``, checked to be the same with flattening's large_string columns and
    with dictionary-encoded ones (pandas categoricals)."""
    selector = entity_filter(pattern, entity)
    mask = selector.mask(table).to_pylist()
    for kind in (pa.large_string(), pa.dictionary(pa.int32(), pa.string())):
        schema = pa.schema(
            [f.with_type(kind) if pa.types.is_string(f.type) else f for f in table.schema]
        )
        assert selector.mask(table.cast(schema)).to_pylist() == mask, kind
    return mask


def process_mask(pattern: str) -> list[bool]:
    return masks(pattern, "process", PROCESSES)


def traffic_mask(pattern: str) -> list[bool]:
    return masks(pattern, "network-traffic", TRAFFIC)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[process:name = 'cmd.exe']", [True, False, False, False, False]),
        ("[process:name != 'cmd.exe']", [False, True, True, False, True]),
        ("[process:pid < 1000]", [True, False, False, True, True]),
        ("[process:pid >= 1200]", [False, True, True, False, False]),
        ("[process:pid > '1000']", [False, True, True, False, False]),
        ("[process:name IN ('cmd.exe', 'net.exe')]", [True, False, True, False, False]),
        ("[process:name NOT IN ('cmd.exe', 'net.exe')]", [False, True, False, False, True]),
        ("[process:name LIKE '%.exe']", [True, False, True, False, True]),
        ("[process:name LIKE 'c_d.%']", [True, False, False, False, False]),
        ("[process:name LIKE '%.EXE']", [False, True, False, False, False]),
        ("[process:command_line LIKE 'ps%enc']", [False, False, False, False, True]),
        ("[process:command_line MATCHES 'net\\\\s+user']", [True, False, True, False, False]),
        ("[process:command_line MATCHES '^net']", [False, False, True, False, False]),
        ("[process:name NOT = 'cmd.exe']", [False, True, True, False, True]),
        ("[process:name NOT LIKE '%.exe']", [False, True, False, False, False]),
        ("[process:name NOT MATCHES 'exe$']", [False, True, False, False, False]),
        ("[process:parent_ref.name = 'WINWORD.EXE']", [True, False, False, False, False]),
        ("[process:binary_ref.name = 'net.exe']", [False, False, True, False, False]),
        (
            "[(process:name = 'cmd.exe' OR process:name = 'net.exe') AND process:pid > 1000]",
            [False, False, True, False, False],
        ),
        (
            "[process:name = 'cmd.exe' OR (process:name = 'net.exe' AND process:pid > 1000)]",
            [True, False, True, False, False],
        ),
        ("[process:created > t'2024-05-01T10:00:00.000Z']", [False, False, True, False, False]),
        ("[process:created <= t'2024-05-01T10:00:00Z']", [True, True, False, False, False]),
        ("[process:x_elevated = true]", [True, False, True, False, False]),
        ("[process:pid = 880.0]", [True, False, False, False, False]),
        ("[process:pid = 'eight']", [False, False, False, False, False]),
        ("[process:pid != 'eight']", [True, True, True, True, True]),
    ],
)
def test_comparisons(pattern: str, expected: list[bool]) -> None:
    assert process_mask(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # Observation expressions are ORed, whatever joins them and whatever qualifies them.
        ("[process:name = 'cmd.exe'] OR [process:pid = 4012]", [True, False, True, False, False]),
        ("[process:name = 'cmd.exe'] AND [process:pid = 4012]", [True, False, True, False, False]),
        (
            "[process:name = 'cmd.exe'] FOLLOWEDBY [process:name = 'net.exe'] WITHIN 5 SECONDS",
            [True, False, True, False, False],
        ),
        (
            "([process:name = 'cmd.exe'] OR [process:pid = 66]) REPEATS 2 TIMES",
            [True, False, False, False, True],
        ),
        (
            "[process:name = 'cmd.exe'] START t'2024-05-01T00:00:00.000Z' "
            "STOP t'2024-05-02T00:00:00.000Z'",
            [True, False, False, False, False],
        ),
        # A comparison on another type is dropped: True under AND, False under OR.
        (
            "[process:name = 'cmd.exe' AND network-traffic:dst_port = 80]",
            [True, False, False, False, False],
        ),
        (
            "[process:name = 'cmd.exe' OR network-traffic:dst_port = 80]",
            [True, False, False, False, False],
        ),
        (
            "[(file:name = 'a' OR ipv4-addr:value = '1.2.3.4') AND process:pid = 66]",
            [False, False, False, False, True],
        ),
        ("[file:name = 'a'] OR [process:pid = 66]", [False, False, False, False, True]),
    ],
)
def test_observation_expressions_and_other_types(pattern: str, expected: list[bool]) -> None:
    assert process_mask(pattern) == expected


def test_a_pattern_without_comparisons_on_the_entity_keeps_every_row() -> None:
    selector = entity_filter("[file:name = 'a'] AND [network-traffic:dst_port = 80]", "process")

    assert not selector.applies
    assert selector.columns == ()
    assert selector.mask(PROCESSES).to_pylist() == [True] * 5


def test_columns_lists_what_the_filter_reads_once_each() -> None:
    selector = entity_filter(
        "[process:name = 'a' AND process:parent_ref.name = 'b'] OR [process:name = 'c']",
        "process",
    )

    assert selector.applies
    assert selector.columns == ("name", "parent_ref.name")


def test_a_missing_column_is_false_even_under_not() -> None:
    assert process_mask("[process:cwd = 'C:\\\\']") == [False] * 5
    assert process_mask("[process:cwd != 'C:\\\\']") == [False] * 5
    assert process_mask("[process:cwd = 'x' OR process:pid = 7]") == [False] * 3 + [True, False]


def test_nulls_are_false_with_or_without_not() -> None:
    assert process_mask("[process:name = 'x' OR process:pid = 7]")[3] is True
    assert process_mask("[process:name != 'cmd.exe']")[3] is False
    assert process_mask("[process:name NOT IN ('a')]")[3] is False


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[network-traffic:src_ref.value = '10.0.0.5']", [True, False, False, False, False]),
        ("[network-traffic:dst_port = 80]", [True, False, False, False, False]),
        ("[network-traffic:dst_port > 100]", [False, True, False, False, True]),
        ("[network-traffic:dst_port IN (80, 8080)]", [True, False, False, False, True]),
        (
            "[network-traffic:src_ref.value ISSUBSET '10.0.0.0/8']",
            [True, False, True, False, False],
        ),
        (
            "[network-traffic:src_ref.value NOT ISSUBSET '10.0.0.0/8']",
            [False, True, False, False, True],
        ),
        (
            "[network-traffic:src_ref.value ISSUBSET 'fe80::/10']",
            [False, False, False, False, True],
        ),
        (
            "[network-traffic:src_ref.value ISSUPERSET '10.1.2.3']",
            [False, False, True, False, False],
        ),
        ("[network-traffic:protocols[*] = 'tcp']", [True, False, True, False, False]),
        ("[network-traffic:protocols[*] IN ('udp', 'x')]", [False, True, False, False, False]),
    ],
)
def test_network_traffic(pattern: str, expected: list[bool]) -> None:
    assert traffic_mask(pattern) == expected


def test_quoted_hash_keys_name_their_column() -> None:
    selector = entity_filter("[file:hashes.'SHA-256' = 'bb22' OR file:size < 20]", "file")

    assert selector.columns == ("hashes.'SHA-256'", "size")
    assert selector.mask(FILES).to_pylist() == [True, True, False]


def test_extension_paths_use_the_shortened_column() -> None:
    selector = entity_filter(
        "[process:extensions.'windows-process-ext'.aslr_enabled = true]", "process"
    )

    assert selector.columns == ("x_aslr_enabled",)
    table = pa.table({"x_aslr_enabled": [True, False, None]})
    assert selector.mask(table).to_pylist() == [True, False, False]


def test_an_unsupported_index_step_is_false_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="huntline.fetch.tables.select"):
        selector = entity_filter(
            "[network-traffic:protocols[0] = 'ipv4' OR network-traffic:dst_port = 80]",
            "network-traffic",
        )

    assert selector.mask(TRAFFIC).to_pylist() == [True, False, False, False, False]
    assert caplog.messages == [
        "STIX pattern \"[network-traffic:protocols[0] = 'ipv4' OR network-traffic:dst_port = 80]\""
        ": network-traffic:protocols[0] = 'ipv4' cannot be evaluated on a network-traffic table;"
        " it is false for every row"
    ]


def test_chunked_and_empty_tables() -> None:
    chunked = pa.concat_tables([PROCESSES.slice(0, 2), PROCESSES.slice(2)])
    selector = entity_filter("[process:name LIKE '%.exe' AND process:pid > 100]", "process")

    mask = selector.mask(chunked)
    assert isinstance(mask, pa.BooleanArray)
    assert mask.to_pylist() == [True, False, True, False, False]
    assert selector.mask(PROCESSES.slice(0, 0)).to_pylist() == []
    assert len(chunked.filter(mask)) == 2


def test_a_long_or_chain_does_not_recurse_per_operator() -> None:
    pattern = "[" + " OR ".join(f"process:pid = {n}" for n in range(3000)) + "]"

    assert process_mask(pattern) == [True, True, False, True, True]


def test_a_filter_survives_a_pickle_round_trip() -> None:
    selector = entity_filter("[process:name = 'cmd.exe']", "process")

    assert pickle.loads(pickle.dumps(selector)).mask(PROCESSES) == selector.mask(PROCESSES)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            "[process:name = ",
            "invalid STIX pattern '[process:name = ': 1:16: no viable alternative at input '<EOF>'",
        ),
        (
            "[EXISTS process:name]",
            "invalid STIX pattern '[EXISTS process:name]': 1:8: no viable alternative at input"
            " 'EXISTSprocess'",
        ),
        (
            "[process:name MATCHES '(?<=cmd)exe']",
            "STIX pattern \"[process:name MATCHES '(?<=cmd)exe']\": MATCHES regex"
            " '(?<=cmd)exe' is not valid RE2: Invalid regular expression: invalid perl"
            " operator: (?<=\n"
            "  hint: huntline evaluates MATCHES with RE2 (no look-around or back-references)",
        ),
        (
            "[process:created > t'2024-02-30T00:00:00Z']",
            "STIX pattern \"[process:created > t'2024-02-30T00:00:00Z']\": timestamp"
            " t'2024-02-30T00:00:00Z' is not a valid date and time",
        ),
    ],
)
def test_errors(pattern: str, message: str) -> None:
    with pytest.raises(FetchError) as caught:
        entity_filter(pattern, "process")

    assert str(caught.value) == message
    assert caught.value.context == {"pattern": pattern}
    assert str(pickle.loads(pickle.dumps(caught.value))) == message


def test_an_invalid_cidr_block_is_an_error() -> None:
    with pytest.raises(FetchError) as caught:
        entity_filter("[ipv4-addr:value ISSUBSET '10.0.0.0/33']", "ipv4-addr")

    assert str(caught.value) == (
        "STIX pattern \"[ipv4-addr:value ISSUBSET '10.0.0.0/33']\": '10.0.0.0/33' is not an IP"
        " address or CIDR block"
    )


def test_on_a_real_bundle_only_the_matching_processes_remain() -> None:
    pattern = "[process:name = 'cmd.exe']"
    bundle = json.loads((REPO / "hunts/data/sample_endpoint_bundle.json").read_text())
    observed = [o for o in bundle["objects"] if o["type"] == "observed-data"]
    matching = [o for o in observed if match(pattern, [o], stix_version="2.0")]
    table = pa.Table.from_pandas(flatten(matching, "process"), preserve_index=False)
    assert {"WINWORD.EXE", "cmd.exe"} < set(table.column("name").to_pylist())  # whole observations

    kept = table.filter(entity_filter(pattern, "process").mask(table))

    assert kept.num_rows == 6
    assert set(kept.column("name").to_pylist()) == {"cmd.exe"}
    assert "WINWORD.EXE" in kept.column("parent_ref.name").to_pylist()
