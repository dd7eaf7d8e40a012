"""Object storage: atomic writes, tables with mixed batches, references that check out."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow.parquet as pq
import pytest

from huntline.errors import StorageError
from huntline.storage import FileStore, open_store
from huntline.tables import TableWriter, read_table, write_table


def test_open_store_understands_uris(tmp_path: Path) -> None:
    assert isinstance(open_store(f"file://{tmp_path}"), FileStore)
    assert isinstance(open_store(str(tmp_path)), FileStore)
    assert open_store("s3://bucket/some/prefix").root == "s3://bucket/some/prefix"
    with pytest.raises(StorageError, match="unsupported storage URI 'ftp://x'"):
        open_store("ftp://x")
    with pytest.raises(StorageError, match="names no bucket"):
        open_store("s3://")


def test_write_and_read_table_round_trip(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    frame = pd.DataFrame({"id": ["process--1_0", "process--2_0"], "pid": [4, 8]})
    ref = write_table(store, "hunt/2024-01-01/run/00_get/procs.parquet", frame)
    assert ref.rows == 2 and ref.columns == ["id", "pid"]
    assert ref.uri == (tmp_path / "hunt/2024-01-01/run/00_get/procs.parquet").as_uri()
    on_disk = (tmp_path / "hunt/2024-01-01/run/00_get/procs.parquet").read_bytes()
    assert ref.sha256 == hashlib.sha256(on_disk).hexdigest()
    assert (
        pq.ParquetFile(tmp_path / "hunt/2024-01-01/run/00_get/procs.parquet")
        .metadata.row_group(0)
        .column(0)
        .compression
        == "ZSTD"
    )
    pd.testing.assert_frame_equal(read_table(store, ref), frame, check_dtype=False)


def test_batches_with_different_columns_become_one_table(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    with TableWriter(store, "t.parquet") as writer:
        writer.append(pd.DataFrame({"id": ["a"], "name": ["cmd.exe"]}))
        writer.append(pd.DataFrame({"id": ["b"], "pid": [7]}))
        writer.append(pd.DataFrame({"id": ["c"], "name": [None]}))
        assert not store.exists("t.parquet"), "nothing may appear before commit"
        ref = writer.commit()
    table = read_table(store, ref)
    assert ref.rows == 3 and ref.columns == ["id", "name", "pid"]
    assert table["name"].tolist()[0] == "cmd.exe" and table["pid"].tolist()[1] == 7


def test_file_store_leaves_no_partial_objects(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put_bytes("a/b.json", b"{}")
    assert store.list() == ["a/b.json"]
    assert store.get_bytes("a/b.json") == b"{}"
    with pytest.raises(StorageError, match="cannot read"):
        store.get_bytes("a/missing.json")


def test_unreadable_table_is_a_clear_error(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put_bytes("garbage.parquet", b"not parquet")
    with pytest.raises(StorageError, match=r"garbage\.parquet is not a readable parquet table"):
        read_table(store, store.uri("garbage.parquet"))


def test_a_file_write_that_fails_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """list() hides dot-prefixed temporaries, so look at the directory itself."""
    import shutil

    store = FileStore(tmp_path / "store")
    source = tmp_path / "big.parquet"
    source.write_bytes(b"x" * (3 << 20))

    def copy_then_fail(src: BinaryIO, dst: BinaryIO, length: int = 0) -> None:
        dst.write(src.read(1 << 20))  # a first megabyte lands in the temporary file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", copy_then_fail)
    with pytest.raises(StorageError, match=r"cannot write .*a/t\.parquet: .*No space left"):
        store.put_file("a/t.parquet", source)
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []

    monkeypatch.undo()

    class Interrupted(BaseException):
        pass

    def interrupted(handle: BinaryIO) -> None:
        handle.write(b"half")
        raise Interrupted

    with pytest.raises(Interrupted):
        store._write("a/u.json", interrupted)
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
