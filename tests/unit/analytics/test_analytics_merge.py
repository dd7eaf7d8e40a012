"""Output checks at the boundary and merge-by-id (Kestrel/firepit reassign semantics)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from huntline.analytics.merge import merge_output, merge_output_file, read_output
from huntline.errors import AnalyticsError

IMAGE = "kestrel-analytics-x"


@pytest.fixture
def variable() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["p--1", "p--2", "p--3"],
            "type": ["process"] * 3,
            "name": ["bash", "wget", "vim"],
            "pid": [1, 2, 3],
        },
        index=[10, 11, 12],
    )


def test_full_output_replaces_and_adds_columns(variable: pd.DataFrame) -> None:
    output = variable.assign(x_score=[3, 0, 1], name=["BASH", "WGET", "VIM"])
    merged = merge_output(variable, output, image=IMAGE, file="output/0.parquet.gz")
    assert merged["x_score"].tolist() == [3, 0, 1]
    assert merged["x_score"].dtype == "int64"
    assert merged["name"].tolist() == ["BASH", "WGET", "VIM"]
    assert merged.index.tolist() == [10, 11, 12]


def test_rows_the_output_dropped_are_kept_unchanged(variable: pd.DataFrame) -> None:
    output = pd.DataFrame({"id": ["p--2"], "type": ["process"], "name": ["curl"], "x_s": [5]})
    merged = merge_output(variable, output, image=IMAGE, file="output/0.parquet.gz")
    assert merged["id"].tolist() == ["p--1", "p--2", "p--3"]
    assert merged["name"].tolist() == ["bash", "curl", "vim"]
    assert merged["x_s"].isna().tolist() == [True, False, True]
    assert merged["pid"].tolist() == [1, 2, 3]  # a column the output lacks is kept


def test_output_order_does_not_matter_and_unknown_ids_are_ignored(
    variable: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    output = pd.DataFrame(
        {"id": ["p--9", "p--3", "p--1"], "type": ["process"] * 3, "x_s": [9, 3, 1]}
    )
    merged = merge_output(variable, output, image=IMAGE, file="output/0.parquet.gz")
    assert merged["id"].tolist() == ["p--1", "p--2", "p--3"]
    assert merged["x_s"].tolist()[0] == 1 and merged["x_s"].tolist()[2] == 3
    assert "1 row(s) whose id is not in the variable" in caplog.text


def test_duplicate_ids_last_wins(variable: pd.DataFrame) -> None:
    output = pd.DataFrame({"id": ["p--1", "p--1"], "type": ["process"] * 2, "name": ["a", "b"]})
    merged = merge_output(variable, output, image=IMAGE, file="output/0.parquet.gz")
    assert merged["name"].tolist() == ["b", "wget", "vim"]


def test_partial_update_of_mixed_dtype_keeps_both(variable: pd.DataFrame) -> None:
    output = pd.DataFrame({"id": ["p--1"], "type": ["process"], "pid": ["one"]})
    merged = merge_output(variable, output, image=IMAGE, file="output/0.parquet.gz")
    assert merged["pid"].tolist() == ["one", 2, 3]


def test_empty_output_changes_nothing(variable: pd.DataFrame) -> None:
    merged = merge_output(variable, variable.iloc[0:0], image=IMAGE, file="output/0.parquet.gz")
    pd.testing.assert_frame_equal(merged, variable)


@pytest.mark.parametrize("drop", [["id"], ["type"], ["id", "type"]])
def test_missing_required_columns(variable: pd.DataFrame, drop: list[str]) -> None:
    with pytest.raises(AnalyticsError) as info:
        merge_output(variable, variable.drop(columns=drop), image=IMAGE, file="output/0.parquet.gz")
    assert str(info.value) == (
        f"analytics {IMAGE} wrote output/0.parquet.gz without the required column(s) "
        f"{', '.join(drop)}\n"
        "  hint: an analytics output must keep the `id` and `type` columns of its input"
    )
    restored = pickle.loads(pickle.dumps(info.value))
    assert restored.context["file"] == "output/0.parquet.gz" and restored.context["image"] == IMAGE


def test_null_ids_are_rejected(variable: pd.DataFrame) -> None:
    output = variable.assign(id=["p--1", None, "p--3"])
    with pytest.raises(AnalyticsError, match="with 1 row\\(s\\) without an id"):
        merge_output(variable, output, image=IMAGE, file="output/0.parquet.gz")


@pytest.mark.parametrize("codec", ["snappy", "gzip", "zstd", "none"])
def test_reads_any_codec(tmp_path: Path, variable: pd.DataFrame, codec: str) -> None:
    path = tmp_path / "0.parquet.gz"
    variable.assign(x=1).to_parquet(path, compression=None if codec == "none" else codec)
    merged = merge_output_file(variable, path, image=IMAGE)
    assert merged["x"].tolist() == [1, 1, 1]


def test_garbage_output_names_image_and_file(tmp_path: Path) -> None:
    path = tmp_path / "0.parquet.gz"
    path.write_text("this is not parquet")
    with pytest.raises(AnalyticsError) as info:
        read_output(path, image=IMAGE)
    message = str(info.value)
    assert message.startswith(
        f"analytics {IMAGE} wrote output/0.parquet.gz, which is not a readable parquet file:"
    )
    assert "hint: outputs must be parquet (gzip or snappy)" in message
