"""Conditional updates of one object (the mechanism under the alert ledger and the coverage
record): a write over a newer version is refused, and the change is re-applied to it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from huntline.conditional import FileObject, update_object, versioned_object
from huntline.errors import StorageError
from huntline.storage import open_store


def append(text: bytes):  # type: ignore[no-untyped-def]
    def change(data: bytes | None) -> tuple[bytes, int]:
        new = (data or b"") + text
        return new, len(new)

    return change


def test_a_stale_write_is_refused(tmp_path: Path) -> None:
    target = versioned_object(open_store(str(tmp_path)), "k/obj", "the thing")
    assert target.read() == (None, None)
    assert target.write(b"a", None)
    assert not target.write(b"b", None), "a create over an existing object is refused"
    token = target.read()[1]
    assert target.write(b"ab", token)
    assert not target.write(b"ac", token)
    assert target.read()[0] == b"ab"


def test_a_change_is_reapplied_when_another_writer_got_in_between(tmp_path: Path) -> None:
    target = versioned_object(open_store(str(tmp_path)), "k/obj", "the thing")
    assert isinstance(target, FileObject)
    seen: list[bytes | None] = []

    def change(data: bytes | None) -> tuple[bytes, None]:
        seen.append(data)
        if len(seen) == 1:  # a writer that ignores the lock slips in after our read
            target.path.parent.mkdir(parents=True, exist_ok=True)
            target.path.write_bytes(b"theirs ")
        return (data or b"") + b"ours", None

    update_object(target, change)
    assert seen == [None, b"theirs "]
    assert target.path.read_bytes() == b"theirs ours"


def test_threads_racing_lose_no_change(tmp_path: Path) -> None:
    target = versioned_object(open_store(str(tmp_path)), "k/obj", "the thing")
    threads = [
        threading.Thread(
            target=lambda letter=letter: [update_object(target, append(letter)) for _ in range(20)]
        )
        for letter in (b"a", b"b", b"c", b"d")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = target.read()[0] or b""
    assert sorted(data) == sorted(b"a" * 20 + b"b" * 20 + b"c" * 20 + b"d" * 20)


def test_an_object_that_keeps_changing_is_a_clear_error(tmp_path: Path) -> None:
    target = versioned_object(open_store(str(tmp_path)), "k/obj", "the thing")
    assert isinstance(target, FileObject)

    def change(data: bytes | None) -> tuple[bytes, None]:
        target.path.parent.mkdir(parents=True, exist_ok=True)
        target.path.write_bytes((data or b"") + b"x")  # someone always writes first
        return b"ours", None

    with pytest.raises(StorageError) as caught:
        update_object(target, change, tries=3)
    assert caught.value.message == (f"the thing {target.uri} changed under every one of 3 writes")
