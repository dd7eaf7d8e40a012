"""The C module's Arrow columns (``_occurrences.column``) against ``pa.array`` + ``_spread``.

``collect._column`` builds a column of one plain type straight into Arrow buffers and hands
every other column to ``_array``, so the typing rule stays pyarrow's. Both ways must give the
same array, type included, on any values a page can hold.
"""

from __future__ import annotations

import math
import random
import struct
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest

from huntline.fetch.stix import collect

POOLS: list[list[Any]] = [
    ["", "a", "powershell.exe", "C:\\Windows\\x", "\u00e9t\u00e9", "\U0001f600", "x" * 300],
    [0, 1, -7, 2**40, 2**63 - 1, -(2**63)],
    [0.5, -0.0, 1e300, float("inf"), float("nan")],
    [True, False],
]
AWKWARD: list[Any] = [2**63, 2**64, -(2**63) - 1, "\ud800", "a\udcffb", [1], {"a": 1}, b"x"]


def _values(rng: random.Random) -> list[Any]:
    pool = rng.choice(POOLS)
    size = rng.randrange(0, 40)
    values = [None if rng.random() < 0.2 else rng.choice(pool) for _ in range(size)]
    if values and rng.random() < 0.3:  # another type, or one pyarrow refuses
        values[rng.randrange(size)] = rng.choice([*AWKWARD, *rng.choice(POOLS)])
    return values


def _rows(rng: random.Random, size: int) -> tuple[bytearray | None, int]:
    if rng.random() < 0.3:
        return None, size
    count = size + rng.randrange(0, 30)
    rows = sorted(rng.sample(range(count), size)) if count else []
    return bytearray(struct.pack(f"={size}i", *rows)), count


def _plain(values: list[Any], rows: bytearray | None, count: int) -> pa.Array:
    array = collect._array(values)
    return array if rows is None else collect._spread(array, rows, count)


def _same(left: pa.Array, right: pa.Array) -> bool:
    def key(value: Any) -> Any:
        return "nan" if isinstance(value, float) and math.isnan(value) else value

    return left.type == right.type and [key(v) for v in left.to_pylist()] == [
        key(v) for v in right.to_pylist()
    ]


def test_a_column_is_typed_as_pyarrow_types_it(c_collector: ModuleType) -> None:
    for seed in range(3000):
        rng = random.Random(seed)
        values = _values(rng)
        rows, count = _rows(rng, len(values))
        built = collect._column(values, rows, count)
        built.validate(full=True)
        assert _same(built, _plain(values, rows, count)), (seed, values, rows, count)


def test_negative_zero_and_nan_keep_their_bits(c_collector: ModuleType) -> None:
    built = collect._column([-0.0, float("nan"), None])
    assert math.copysign(1, built[0].as_py()) == -1
    assert math.isnan(built[1].as_py())
    assert built.null_count == 1


def test_what_pyarrow_types_its_own_way_is_left_to_it(c_collector: ModuleType) -> None:
    for values in ([1, 2.5], [True, 1], [2**64], ["\ud800"], [[1]], [None, None], []):
        assert c_collector.column(values, None, len(values)) is None, values


def test_rows_outside_the_column_are_refused(c_collector: ModuleType) -> None:
    with pytest.raises(ValueError, match="outside the column"):
        c_collector.column(["a"], bytearray(struct.pack("=i", 5)), 3)
    with pytest.raises(ValueError, match="one int32 row per value"):
        c_collector.column(["a", "b"], bytearray(struct.pack("=i", 0)), 3)
    with pytest.raises(ValueError, match="fill the column"):
        c_collector.column(["a"], None, 2)
