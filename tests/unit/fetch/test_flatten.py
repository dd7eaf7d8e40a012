"""STIX observed-data -> entity tables with Kestrel/firepit column names and ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from huntline.errors import FetchError
from huntline.fetch import entity_types, flatten
from huntline.fetch.sources.bundle import read_observed_data

FILES = Path(__file__).resolve().parents[2] / "files" / "fetch"


@pytest.fixture(scope="module")
def observed() -> list[dict]:
    return read_observed_data(FILES / "processes.json")


CHILD = "process--a4baca71-4198-5581-bd16-501655282218"
PARENT = "process--db91dc5e-3cea-59f8-9119-a6bd291c5586"
WHOAMI = "file--8db56e11-93ed-5e30-b939-b0e4fd27e745"
BASH = "file--a1a67d6e-dd16-5d07-bec0-297e96c10d0a"
USR_BIN = "directory--7282c95d-70ac-58f1-9c75-11817ccf7849"


def test_process_rows_follow_references_the_firepit_way(observed: list[dict]) -> None:
    table = flatten(observed, "process")
    # Neither process has a unique id or a host: deterministic per-occurrence ids.
    assert list(table["id"]) == [CHILD, PARENT]
    child = table.iloc[0].dropna().to_dict()
    assert child == {
        "type": "process",
        "id": CHILD,
        "pid": 864,
        "name": "whoami",
        "command_line": "whoami",
        "binary_ref": WHOAMI,
        "parent_ref": PARENT,
        "child_refs": f'["{PARENT}"]',
        "x_aslr_enabled": True,
        "binary_ref.type": "file",
        "binary_ref.id": WHOAMI,
        "binary_ref.name": "whoami",
        "binary_ref.hashes.'SHA-256'": "aa11",
        "binary_ref.hashes.MD5": "bb22",
        "binary_ref.parent_directory_ref.type": "directory",
        "binary_ref.parent_directory_ref.id": USR_BIN,
        "binary_ref.parent_directory_ref.path": "/usr/bin",
        "parent_ref.type": "process",
        "parent_ref.id": PARENT,
        "parent_ref.pid": 3140,
        "parent_ref.name": "bash",
        "parent_ref.command_line": "bash",
        "parent_ref.binary_ref.type": "file",
        "parent_ref.binary_ref.id": BASH,
        "parent_ref.binary_ref.name": "bash",
        "parent_ref.binary_ref.parent_directory_ref.type": "directory",
        "parent_ref.binary_ref.parent_directory_ref.id": USR_BIN,
        "parent_ref.binary_ref.parent_directory_ref.path": "/usr/bin",
        "first_observed": "2021-05-01T20:20:39.851Z",
        "last_observed": "2021-05-01T20:20:39.851Z",
        "number_observed": 1,
    }
    # The grandparent columns exist (firepit's shape) but the parent's parent_ref ("9") dangles.
    assert table["parent_ref.parent_ref.name"].isna().all()
    assert "parent_ref" not in table.iloc[1].dropna()
    assert list(table.columns[-3:]) == ["first_observed", "last_observed", "number_observed"]


def test_one_directory_row_for_two_references(observed: list[dict]) -> None:
    directories = flatten(observed, "directory")
    assert directories[["id", "path", "number_observed"]].to_dict("records") == [
        {"id": USR_BIN, "path": "/usr/bin", "number_observed": 1}
    ]


def test_network_traffic_matches_the_sample_shape(observed: list[dict], shared_data: Path) -> None:
    table = flatten(observed, "network-traffic")
    row = table.iloc[0]
    assert row["src_ref.value"] == "10.0.0.1"
    assert row["dst_ref.value"] == "10.0.0.2"
    assert row["protocols"] == '["ipv4","udp"]'
    assert row["number_observed"] == 2
    sample = pd.read_parquet(shared_data / "parquet" / "nettraffic.parquet.gz")
    expected = set(sample.columns) - {"x_contained_by_ref"}
    assert expected <= set(table.columns)


def test_procs_sample_columns_are_all_produced(shared_data: Path) -> None:
    sample = pd.read_parquet(shared_data / "parquet" / "procs.parquet.gz")
    observed = read_observed_data(FILES / "processes.json")
    assert set(sample.columns) <= set(flatten(observed, "process").columns)


def test_entity_types_and_empty_tables(observed: list[dict]) -> None:
    assert entity_types(observed) == [
        "directory", "file", "ipv4-addr", "network-traffic", "process",
    ]  # fmt: skip
    empty = flatten(observed, "url")
    assert list(empty.columns) == ["type", "id", "first_observed", "last_observed",
                                   "number_observed"]  # fmt: skip
    assert empty.empty


def test_mixed_types_become_strings_so_parquet_can_store_them(tmp_path: Path) -> None:
    observed = [
        {
            "id": f"observed-data--{n}",
            "first_observed": "2021-01-01T00:00:00Z",
            "last_observed": "2021-01-01T00:00:00Z",
            "number_observed": 1,
            "objects": {"0": {"type": "x-thing", "value": value}},
        }
        for n, value in enumerate([1, "two", None])
    ]
    table = flatten(observed, "x-thing")
    assert list(table["value"].fillna("NA")) == ["1", "two", "NA"]
    table.to_parquet(tmp_path / "t.parquet")


def test_observed_data_without_objects_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as caught:
        flatten([{"id": "observed-data--1", "object_refs": []}], "process")
    assert caught.value.message == (
        "observed-data observed-data--1 has no embedded 'objects' mapping"
    )
