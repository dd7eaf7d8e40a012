"""A ``file://`` store whose directory holds a space, ``%``, ``#`` or non-ASCII letters: its
URIs are encoded once (``Path.as_uri``), and opening the store again from its own root, or
finding a key from a table's URI, decodes them once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from huntline.errors import StorageError
from huntline.storage import file_path, key_of, open_store
from huntline.tables import read_table, write_table

NAMES = ["every entity", "100% sure", "hunt #7", "prüfung ü", "a%20b", "q?x=1"]


@pytest.mark.parametrize("name", NAMES)
def test_a_store_reopened_from_its_root_is_the_same_folder(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    store = open_store(str(folder))
    again = open_store(store.root)  # what a run context hands to the next step
    assert again.root == store.root
    assert again.root == folder.resolve().as_uri()
    ref = write_table(again, "hunt 1/2024-01-01/r/00_get/procs.parquet", pd.DataFrame({"a": [1]}))
    assert key_of(open_store(store.root), ref.uri) == "hunt 1/2024-01-01/r/00_get/procs.parquet"
    assert read_table(open_store(store.root), ref).to_dict("list") == {"a": [1]}
    assert (folder / "hunt 1/2024-01-01/r/00_get/procs.parquet").is_file()
    assert not any(p.name != name for p in tmp_path.iterdir())  # no second, encoded folder


def test_file_uris_typed_by_hand() -> None:
    assert file_path("file:///tmp/every entity") == Path("/tmp/every entity")
    assert file_path("file:///tmp/every%20entity") == Path("/tmp/every entity")
    assert file_path("file:///tmp/hunt #7") == Path("/tmp/hunt #7")  # not a fragment
    assert file_path("file://.huntline/store") == Path(".huntline/store")
    assert open_store("/tmp/a%20b").root == Path("/tmp/a%20b").as_uri()  # a plain path: as is


def test_a_uri_outside_the_store_is_still_refused(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "every entity"))
    outside = (tmp_path / "every entity2" / "x.parquet").as_uri()
    with pytest.raises(StorageError, match="is not inside the store"):
        key_of(store, outside)


def test_a_pack_runs_into_a_folder_named_every_entity(repo_root: Path, tmp_path: Path) -> None:
    """The report: ``run_pack`` with its storage in ``every entity`` failed with "... is not
    inside the store" (the folder's URI was encoded a second time when the store reopened)."""
    from datetime import UTC, datetime

    from huntline.packs import load_pack, run_pack

    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    (tmp_path / "m.yaml").write_text(
        "id: 11111111-1111-4111-8111-111111111111\ntitle: shells\nwindow: {last: 24h}\n"
        f"steps:\n  - get: procs\n    entity: process\n    from: file://{bundle}\n"
        "    where: \"[process:name = 'cmd.exe']\"\n"
    )
    (tmp_path / "p.pack.yaml").write_text(
        f"pack: p\ntitle: P\nsource: file://{bundle}\nentity: process\n"
        'window: {start: "2024-06-03T00:00:00Z", stop: "2024-06-04T00:00:00Z"}\n'
        "members: [m.yaml]\n"
    )
    storage = (tmp_path / "every entity #1 %").as_uri()
    now = datetime(2024, 6, 4, tzinfo=UTC)
    report = run_pack(load_pack(tmp_path / "p.pack.yaml"), storage, now, run_id="r")
    assert [m.error for m in report.members] == [None] and report.members[0].rows
    assert (tmp_path / "every entity #1 %" / "p/2024-06-04/r/00_get/process.parquet").is_file()
