"""Entity identity and merging: one row per entity, firepit's ids, Kestrel's aggregates."""

from __future__ import annotations

import copy
from typing import Any

import pyarrow as pa
import pytest
import stixgen

from huntline.fetch import EntitySpool, flatten_all, flatten_arrow
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.rules import sco_ids


def obs(
    n: int, objects: dict[str, Any], first: str, last: str | None = None, count: int = 1
) -> dict:
    return {
        "type": "observed-data",
        "id": f"observed-data--00000000-0000-4000-8000-{n:012d}",
        "first_observed": first,
        "last_observed": last or first,
        "number_observed": count,
        "objects": objects,
    }


def rows(observed: list[dict], entity: str) -> list[dict]:
    return flatten_arrow(observed, entity).to_pylist()


def test_one_row_per_address_with_min_max_and_sum() -> None:
    observed = [
        obs(1, {"0": {"type": "ipv4-addr", "value": "10.0.0.1"}}, "2024-01-02T00:00:00Z", count=3),
        obs(2, {"0": {"type": "ipv4-addr", "value": "10.0.0.1"}}, "2024-01-01T00:00:00Z", count=2),
        obs(3, {"0": {"type": "ipv4-addr", "value": "10.0.0.2"}}, "2024-01-03T00:00:00Z"),
    ]
    table = rows(observed, "ipv4-addr")
    columns = ("value", "first_observed", "last_observed", "number_observed")
    assert [tuple(r[c] for c in columns) for r in table] == [
        ("10.0.0.1", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", 5),
        ("10.0.0.2", "2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z", 1),
    ]  # fmt: skip


def test_last_non_null_value_wins_and_an_observation_counts_once() -> None:
    user = {"type": "user-account", "user_id": "alice"}
    observed = [
        obs(1, {"0": {**user, "display_name": "A"}, "1": {**user, "x_shell": "sh"}}, "2024-01-01"),
        obs(2, {"0": {**user, "display_name": "B"}}, "2024-01-02T00:00:00Z"),
        obs(3, {"0": {**user, "display_name": None}}, "2024-01-03T00:00:00Z"),
    ]  # fmt: skip
    [alice] = rows(observed, "user-account")
    assert (alice["display_name"], alice["x_shell"], alice["number_observed"]) == ("B", "sh", 3)


def test_ids_equal_firepit_makeid() -> None:
    stix21 = pytest.importorskip("firepit.stix21")
    objects = {
        "0": {"type": "process", "pid": 4, "name": "a", "binary_ref": "1"},
        "1": {"type": "file", "name": "a", "hashes": {"SHA-256": "ff", "SHA-1": "ee"},
              "parent_directory_ref": "2"},
        "2": {"type": "directory", "path": "C:/Windows"},
        "3": {"type": "x-oca-asset", "hostname": "h1"},
        "4": {"type": "ipv4-addr", "value": "10.0.0.1"},
        "5": {"type": "network-traffic", "src_ref": "4", "dst_port": 443, "protocols": ["tcp"]},
        "6": {"type": "user-account", "user_id": "é/ü"},
    }  # fmt: skip
    observation = obs(1, objects, "2024-01-01T00:00:00Z")
    ours = sco_ids(observation, IdCache())
    theirs = {
        key: stix21.makeid(copy.deepcopy(sco), copy.deepcopy(observation))
        for key, sco in objects.items()
    }
    assert ours == theirs


def test_anonymous_ids_are_deterministic_and_independent_of_the_observation_id() -> None:
    event = {
        "0": {"type": "x-oca-event", "action": "x"},
        "1": {"type": "x-oca-event", "action": "x"},
    }
    first = sco_ids(obs(1, event, "2024-01-01T00:00:00Z"))
    again = sco_ids(obs(2, event, "2024-01-01T00:00:00Z"))  # a rerun: new observed-data id
    later = sco_ids(obs(3, event, "2024-01-01T00:00:01Z"))
    assert first == again
    assert first["0"] != first["1"]
    assert not set(first.values()) & set(later.values())


def test_refs_lists_are_unioned_and_dangling_refs_dropped() -> None:
    def seen(n: int, targets: list[str]) -> dict:
        objects: dict[str, Any] = {
            "0": {"type": "x-oca-asset", "hostname": "h", "ip_refs": targets},
            "1": {"type": "ipv4-addr", "value": "10.0.0.1"},
            "2": {"type": "ipv4-addr", "value": f"10.0.0.{n + 1}"},
        }
        return obs(n, objects, f"2024-01-0{n}T00:00:00Z")

    [host] = rows([seen(1, ["1", "9"]), seen(2, ["2", "1"])], "x-oca-asset")
    v1, v2, v3 = (sco_ids(seen(n, []))[k] for n, k in ((1, "1"), (1, "2"), (2, "2")))
    assert v1 != v2 and v2 != v3
    assert host["ip_refs"] == f'["{v1}","{v3}"]'.replace("/", "\\/")


def test_types_that_differ_between_pages_become_text(tmp_path: Any) -> None:
    pages = [
        [obs(1, {"0": {"type": "x-thing", "value": 1, "flag": True}}, "2024-01-01T00:00:00Z")],
        [obs(2, {"0": {"type": "x-thing", "value": "two", "flag": "yes"}}, "2024-01-02T00:00:00Z")],
    ]
    with EntitySpool(tmp_path, flush_rows=1) as spool:
        for page in pages:
            spool.add(page)
        table = spool.table("x-thing").to_pylist()
    assert [(r["value"], r["flag"]) for r in table] == [("1", "1"), ("two", "yes")]


def test_reference_to_an_unexpected_type_gives_empty_columns() -> None:
    objects = {
        "0": {"type": "network-traffic", "src_ref": "1", "dst_ref": "2", "dst_port": 1},
        "1": {"type": "mac-addr", "value": "00:11:22:33:44:55"},
        "2": {"type": "ipv4-addr", "value": "10.0.0.9"},
    }
    [flow] = rows([obs(1, objects, "2024-01-01T00:00:00Z")], "network-traffic")
    assert flow["src_ref"].startswith("mac-addr--")  # the id is kept
    assert flow["src_ref.value"] is None  # firepit follows src_ref into ipv4/ipv6 only
    assert flow["dst_ref.value"] == "10.0.0.9"
    assert flow["dst_ref.type"] == "ipv4-addr"


@pytest.mark.parametrize("bucket_rows", [50, 400])
def test_bucketed_batches_equal_the_whole_table(tmp_path: Any, bucket_rows: int) -> None:
    """Large types merged in id buckets and dereferenced per batch give the same rows, in the
    same (first-seen) order, with the same columns and types as merging everything at once."""
    observed = list(stixgen.observations(600, seed=3, match_fraction=0.1))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        EntitySpool(tmp_path / "a", flush_rows=100, bucket_rows=10**9) as whole,
        EntitySpool(
            tmp_path / "b", flush_rows=100, bucket_rows=bucket_rows, lookup_rows=150
        ) as bucketed,
    ):
        for first in range(0, len(observed), 100):
            whole.add(observed[first : first + 100])
            bucketed.add(observed[first : first + 100])
        for sco_type in whole.types():
            expected = whole.table(sco_type)
            got = pa.concat_tables(bucketed.batches(sco_type, rows=70))
            assert got.schema == expected.schema, sco_type
            assert got.to_pylist() == expected.to_pylist(), sco_type
            assert bucketed.table(sco_type).to_pylist() == expected.to_pylist(), sco_type
        assert bucket_rows > 100 or len(bucketed._buckets["process"].paths) > 1
        assert "x-oca-asset" in bucketed._merged  # many occurrences, few entities: kept


@pytest.mark.parametrize("sources", [("edr",), ("edr", "siem")])
def test_spooled_tables_equal_one_merge_of_everything(tmp_path: Any, sources: tuple) -> None:
    """Large types merged in id buckets and dereferenced per batch, with sources stamped as a
    fetch stamps them, give the tables of merging every occurrence at once (``flatten_all``)."""
    observed = list(stixgen.observations(600, seed=5, match_fraction=0.1))
    for index, observation in enumerate(observed):  # a fetch stamps its source on each
        observation["x_datasource"] = sources[index // 100 % len(sources)]
    expected = flatten_all(copy.deepcopy(observed))
    with EntitySpool(tmp_path, flush_rows=100, bucket_rows=120, lookup_rows=90) as spool:
        for first in range(0, len(observed), 100):
            spool.add(observed[first : first + 100])
        for sco_type, table in expected.items():
            got = pa.concat_tables(spool.batches(sco_type, rows=70))
            named = got.column("x_datasource").to_pylist()
            got = got.drop_columns(["x_datasource"])  # flatten_all has no sources
            assert got.schema == table.schema, sco_type
            assert got.to_pylist() == table.to_pylist(), sco_type
            assert set(named) <= {"edr", "siem", "edr,siem"}, sco_type


def test_an_entity_seen_by_two_sources_is_one_row_naming_both(tmp_path: Any) -> None:
    def sourced(n: int, value: str, source: str) -> dict:
        found = obs(n, {"0": {"type": "ipv4-addr", "value": value}}, f"2024-01-0{n}T00:00:00Z")
        return {**found, "x_datasource": source}

    pages = [
        [sourced(1, "10.0.0.1", "b"), sourced(2, "10.0.0.2", "b")],
        [sourced(3, "10.0.0.1", "a")],
    ]
    with EntitySpool(tmp_path, flush_rows=1) as spool:
        for page in pages:
            spool.add(page)
        table = spool.table("ipv4-addr")
        batched = pa.concat_tables(spool.batches("ipv4-addr")).to_pylist()
    assert table.column_names[-1] == "x_datasource"
    got = sorted((r["value"], r["x_datasource"], r["number_observed"]) for r in table.to_pylist())
    assert got == [("10.0.0.1", "a,b", 2), ("10.0.0.2", "b", 1)]
    assert sorted(r["x_datasource"] for r in batched) == ["a,b", "b"]


def test_no_source_column_without_x_datasource(tmp_path: Any) -> None:
    with EntitySpool(tmp_path) as spool:
        spool.add(
            [obs(1, {"0": {"type": "ipv4-addr", "value": "10.0.0.1"}}, "2024-01-01T00:00:00Z")]
        )
        assert "x_datasource" not in spool.table("ipv4-addr").column_names
