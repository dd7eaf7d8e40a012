"""merge_occurrences against the upsert rules written out row by row (see :mod:`.merge`).

The merge takes entities seen once as they are and aggregates only the others; these tests
check that both kinds, and the mix of them, give what firepit's rules give, in first-seen order
and with the same column types whichever way a table went.
"""

from __future__ import annotations

import random
from itertools import chain
from typing import Any

import orjson
import pyarrow as pa
import pytest

from huntline.errors import FetchError
from huntline.fetch import flatten_all
from huntline.fetch.stix.plans import json_text
from huntline.fetch.tables.merge import ORDINAL, merge_occurrences

COLUMNS = ("name", "pid", "child_refs", "first_observed", "last_observed", "number_observed")


def occurrences(seed: int, rows: int, ids: int, unique: float) -> list[dict[str, Any]]:
    """Random occurrences: ids drawn from a pool of ``ids``, or a fresh one with ``unique``."""
    draw = random.Random(seed)
    out = []
    for position in range(rows):
        sco_id = (
            f"process--u{position}"
            if draw.random() < unique
            else f"process--p{draw.randrange(ids)}"
        )
        first = f"2024-03-01T00:{draw.randrange(60):02d}:00.000Z"
        out.append(
            {
                "id": sco_id,
                "name": draw.choice([None, "cmd.exe", "chrome.exe", "powershell.exe"]),
                "pid": draw.choice([None, draw.randrange(1, 9000)]),
                "child_refs": draw.choice(
                    [None, json_text(draw.sample(["process--a", "process--b", "process--c"], 2))]
                ),
                "first_observed": first,
                "last_observed": first.replace(":00.000Z", ":30.000Z"),
                "number_observed": draw.choice([None, 1, 2, 3]),
                "x_datasource": draw.choice([None, "edr", "siem"]),
                ORDINAL: position,
            }
        )
    return out


def upserted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules of :mod:`.merge`, one occurrence at a time."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["id"], []).append(row)
    out = []
    for sco_id, group in groups.items():
        merged: dict[str, Any] = {"id": sco_id}
        for column in ("name", "pid"):
            values = [r[column] for r in group if r[column] is not None]
            merged[column] = values[-1] if values else None
        lists = list(dict.fromkeys(r["child_refs"] for r in group if r["child_refs"] is not None))
        if len(lists) > 1:
            merged["child_refs"] = json_text(
                list(dict.fromkeys(chain.from_iterable(map(orjson.loads, lists))))
            )
        else:
            merged["child_refs"] = lists[0] if lists else None
        merged["first_observed"] = min(r["first_observed"] for r in group)
        merged["last_observed"] = max(r["last_observed"] for r in group)
        counts = [r["number_observed"] for r in group if r["number_observed"] is not None]
        merged["number_observed"] = sum(counts) if counts else None
        sources = sorted({r["x_datasource"] for r in group if r["x_datasource"] is not None})
        merged["x_datasource"] = ",".join(sources) if sources else None
        merged[ORDINAL] = min(r[ORDINAL] for r in group)
        out.append(merged)
    return out


def as_tables(rows: list[dict[str, Any]], pages: int) -> list[pa.Table]:
    """``rows`` as ``pages`` occurrence tables, typed as ``stix.collect`` types them."""
    size = max(1, -(-len(rows) // pages))
    schema = pa.schema(
        [
            ("id", pa.large_string()),
            ("name", pa.large_string()),
            ("pid", pa.int64()),
            ("child_refs", pa.large_string()),
            ("first_observed", pa.large_string()),
            ("last_observed", pa.large_string()),
            ("number_observed", pa.int64()),
            ("x_datasource", pa.large_string()),
            (ORDINAL, pa.int64()),
        ]
    )
    return [
        pa.Table.from_pylist(rows[start : start + size], schema=schema)
        for start in range(0, len(rows), size)
    ]


@pytest.mark.parametrize(
    ("ids", "unique"),
    [
        (50, 0.0),  # every entity several times: aggregated only
        (5, 1.0),  # every entity once: taken as it is
        (40, 0.6),  # both, interleaved
        (2000, 0.0),  # mostly once, by chance
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merge_follows_the_upsert_rules(ids: int, unique: float, seed: int) -> None:
    rows = occurrences(seed, 600, ids, unique)
    merged = merge_occurrences(as_tables(rows, pages=4))
    assert merged.to_pylist() == upserted(rows)
    assert merged.column_names == ["id", *COLUMNS, "x_datasource", ORDINAL]
    assert merged.schema.field("number_observed").type == pa.int64()
    assert merged.schema.field("x_datasource").type == pa.large_string()
    assert merged.schema.field("child_refs").type == pa.large_string()
    assert merged.column(0).num_chunks == 1


def test_merge_of_nothing_is_empty() -> None:
    rows = occurrences(1, 10, 3, 0.5)
    assert merge_occurrences(as_tables(rows, 1)[0].slice(0, 0) for _ in range(2)).num_rows == 0


def observations(number: Any) -> list[dict[str, Any]]:
    """Three observations of one address and three processes, with ``number_observed`` as
    given (None: left out)."""
    return [
        {
            "type": "observed-data",
            "id": f"observed-data--{i:08d}-0000-4000-8000-000000000000",
            "first_observed": "2024-01-01T00:00:00Z",
            "last_observed": "2024-01-01T00:00:01Z",
            **({} if number is None else {"number_observed": number}),
            "objects": {
                "0": {"type": "ipv4-addr", "value": "10.0.0.1"},
                "1": {"type": "process", "pid": 100 + i, "name": "x"},
            },
        }
        for i in range(3)
    ]


def test_observations_without_number_observed_merge_to_null() -> None:
    tables = flatten_all(observations(None))
    assert tables["ipv4-addr"].column("number_observed").to_pylist() == [None]
    assert tables["process"].column("number_observed").to_pylist() == [None, None, None]


def test_number_observed_as_text_is_summed_as_a_number() -> None:
    address = flatten_all(observations("2"))["ipv4-addr"]
    assert address.column("number_observed").to_pylist() == [6]


def test_number_observed_that_is_not_a_number_is_named() -> None:
    with pytest.raises(FetchError, match="number_observed that is not a number: 'many'"):
        flatten_all(observations("many"))


def test_last_non_null_keeps_every_column_type() -> None:
    table = pa.table(
        {
            "id": pa.array(["a", "b", "a", "a"], pa.large_string()),
            "flag": pa.array([True, False, None, False]),
            "size": pa.array([1.5, None, None, 2.5]),
            "nothing": pa.nulls(4),
            "name": pa.array([None, "x", "y", None], pa.large_string()),
        }
    )
    merged = merge_occurrences([table])
    assert merged.to_pylist() == [
        {"id": "a", "flag": False, "size": 2.5, "nothing": None, "name": "y"},
        {"id": "b", "flag": False, "size": None, "nothing": None, "name": "x"},
    ]
    assert merged.schema.field("flag").type == pa.bool_()
