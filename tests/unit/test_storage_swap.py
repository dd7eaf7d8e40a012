"""Compare-and-swap in the object store, and changes through it (the mechanism under the alert
ledger, the coverage record and the intel snapshots): a write over a newer version is refused,
and the change is re-applied to it. The S3 store runs the same contract in
tests/integration/test_storage_s3.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from huntline.errors import StorageError
from huntline.storage import FileStore, ObjectStore, open_store, update_object


def append(text: bytes):  # type: ignore[no-untyped-def]
    def change(data: bytes | None) -> tuple[bytes, int]:
        new = (data or b"") + text
        return new, len(new)

    return change


def check_compare_and_swap(store: ObjectStore) -> None:
    """The contract every store keeps; also run against S3."""
    assert store.read_versioned("k/obj") == (None, None)
    assert store.compare_and_swap("k/obj", b"a", None)
    assert not store.compare_and_swap("k/obj", b"b", None), "a create over an object is refused"
    data, version = store.read_versioned("k/obj")
    assert data == b"a" and version is not None
    assert store.compare_and_swap("k/obj", b"ab", version)
    assert not store.compare_and_swap("k/obj", b"ac", version)
    assert store.read_versioned("k/obj")[0] == b"ab"
    assert store.list("k") == ["k/obj"], "no lock or temporary file is listed"


def test_a_stale_write_is_refused(tmp_path: Path) -> None:
    check_compare_and_swap(open_store(str(tmp_path)))


def test_a_change_is_reapplied_when_another_writer_got_in_between(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    assert isinstance(store, FileStore)
    seen: list[bytes | None] = []

    def change(data: bytes | None) -> tuple[bytes, None]:
        seen.append(data)
        if len(seen) == 1:  # another writer lands after our read
            store.put_bytes("k/obj", b"theirs ")
        return (data or b"") + b"ours", None

    update_object(store, "k/obj", change, what="the thing")
    assert seen == [None, b"theirs "]
    assert store.path("k/obj").read_bytes() == b"theirs ours"


def test_threads_racing_lose_no_change(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    threads = [
        threading.Thread(
            target=lambda letter=letter: [
                update_object(store, "k/obj", append(letter), what="the thing") for _ in range(20)
            ]
        )
        for letter in (b"a", b"b", b"c", b"d")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = store.read_versioned("k/obj")[0] or b""
    assert sorted(data) == sorted(b"a" * 20 + b"b" * 20 + b"c" * 20 + b"d" * 20)


def test_an_object_that_keeps_changing_is_a_clear_error(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))

    def change(data: bytes | None) -> tuple[bytes, None]:
        store.put_bytes("k/obj", (data or b"") + b"x")  # someone always writes first
        return b"ours", None

    with pytest.raises(StorageError) as caught:
        update_object(store, "k/obj", change, what="the thing", tries=3)
    assert caught.value.message == (
        f"the thing {store.uri('k/obj')} changed under every one of 3 writes"
    )
    assert caught.value.hint == "other runs of this hunt keep writing it; retry the run"


def test_an_unreadable_object_is_an_error_not_a_missing_one(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    (tmp_path / "k" / "obj").mkdir(parents=True)  # exists, but cannot be read as a file
    with pytest.raises(StorageError) as caught:
        store.read_versioned("k/obj")
    assert caught.value.message == (
        f"cannot read {store.uri('k/obj')}: [Errno 21] Is a directory: '{tmp_path}/k/obj'"
    )
