"""``write_table`` writes a small frame from memory, byte for byte what the spool writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from huntline.storage import open_store
from huntline.tables import TableWriter, read_table, write_table

FRAMES = {
    "mixed": pd.DataFrame(
        {
            "pid": [1, 2],
            "name": ["cmd.exe", None],
            "elevated": [True, False],
            "seen": pd.to_datetime(["2024-06-03T08:00:00Z", None], utc=True),
            "hashes": [["a"], None],
            "nothing": [None, None],
            "score": [1.5, float("nan")],
        }
    ),
    "no columns": pd.DataFrame(),
    "no rows": pd.DataFrame({"name": pd.Series([], dtype="object")}),
    "arrow": pa.table({"name": pa.array(["a"], pa.string()), "pid": pa.array([1], pa.int32())}),
}


@pytest.mark.parametrize("name", FRAMES)
def test_a_small_frame_is_the_same_object_from_memory(name: str, tmp_path: Path) -> None:
    store = open_store(tmp_path.as_uri())
    frame = FRAMES[name]
    fast = write_table(store, "fast.parquet", frame)
    with TableWriter(store, "spooled.parquet") as writer:
        writer.append(frame)
        spooled = writer.commit()
    assert (fast.sha256, fast.rows, fast.columns) == (
        spooled.sha256,
        spooled.rows,
        spooled.columns,
    )
    assert read_table(store, fast).equals(read_table(store, spooled))
