"""Merging in id buckets gives what one in-memory merge gives, in the same first-seen order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from huntline.fetch.tables import buckets as buckets_module
from huntline.fetch.tables.buckets import Buckets
from huntline.fetch.tables.merge import ORDINAL, merge_occurrences, unified_schema
from huntline.tables import write_ipc


def occurrences(ids: list[int], first: int) -> pa.Table:
    """Occurrences of ``ipv4-addr--<n>`` ids, one observation each, numbered from ``first``."""
    times = [
        f"2024-01-01T00:{(first + i) // 60:02d}:{(first + i) % 60:02d}Z" for i in range(len(ids))
    ]
    return pa.table(
        {
            "value": [f"10.0.{n // 256}.{n % 256}" for n in ids],
            "id": [f"ipv4-addr--{n:032x}" for n in ids],
            "first_observed": times,
            "last_observed": times,
            "number_observed": [1] * len(ids),
        }
    )


def build(tmp_path: Path, parts: list[pa.Table], count: int) -> Buckets:
    paths = []
    for index, part in enumerate(parts):
        paths.append(tmp_path / f"part-{index}.arrow")
        write_ipc(paths[-1], part)
    schema = unified_schema(part.schema for part in parts)
    return Buckets.build(paths, schema, count, tmp_path, "0000")


@pytest.mark.parametrize("rows", [1, 7, 40, 1000])
def test_ordered_is_first_seen_order_in_slices_of_rows(tmp_path: Path, rows: int) -> None:
    # skewed: every entity is first seen in the first part, then seen again in reverse order
    parts = [occurrences(list(range(60)), 0), occurrences(list(range(59, -1, -1)) * 3, 60)]
    buckets = build(tmp_path, parts, count=8)
    expected = merge_occurrences(parts)

    slices = list(buckets.ordered(rows))

    assert all(0 < s.num_rows <= rows for s in slices)
    got = pa.concat_tables(slices)
    assert ORDINAL not in got.column_names
    assert got.to_pylist() == expected.to_pylist()
    assert buckets.table().to_pylist() == expected.to_pylist()
    assert buckets.rows == 60


def test_take_ids_finds_rows_in_any_bucket_and_hides_the_ordinal(tmp_path: Path) -> None:
    buckets = build(tmp_path, [occurrences(list(range(50)), 0)], count=4)
    wanted = pa.array([f"ipv4-addr--{n:032x}" for n in (3, 17, 42, 99)], pa.large_string())

    found = buckets.take_ids(wanted)

    assert sorted(found.column("value").to_pylist()) == ["10.0.0.17", "10.0.0.3", "10.0.0.42"]
    assert found.schema == buckets.schema


def test_take_ids_is_exact_when_ids_share_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every id hashed alike: the index hands back whole buckets, the id check keeps the
    wanted rows only, in bucket order, each once."""
    buckets = build(tmp_path, [occurrences(list(range(50)), 0)], count=4)
    every_third = [f"ipv4-addr--{n:032x}" for n in range(0, 50, 3)]
    honest = buckets.take_ids(pa.array(every_third, pa.large_string()))
    monkeypatch.setattr(buckets_module, "id_hashes", lambda ids: np.zeros(len(ids), dtype=np.int64))
    buckets._indexes = {}
    wanted = pa.array([*every_third, every_third[0]], pa.large_string())

    colliding = buckets.take_ids(wanted)

    assert colliding.to_pylist() == honest.to_pylist()
    assert colliding.num_rows == 17


def test_remove_deletes_every_file(tmp_path: Path) -> None:
    buckets = build(tmp_path, [occurrences(list(range(50)), 0)], count=4)
    list(buckets.ordered(10))  # writes the range files too

    buckets.remove()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-0.arrow"]
