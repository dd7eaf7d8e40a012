"""A run reads its book once (issue 21 item 5): the plan and the manifest's sha256 come from the
same bytes, so an edit to the file while the run goes on changes neither."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.book import loader
from huntline.compile import prepare_hunt
from huntline.errors import BookError
from huntline.schedule.prepare import RunRequest, checked_hunt, prepare_run
from huntline.storage import open_store

BOOKS = Path(__file__).parents[2] / "files" / "books"
NOW = datetime(2024, 6, 4, tzinfo=UTC)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the book loader reads from now on, in order."""
    read: list[str] = []
    load_yaml = loader.load_yaml

    def counted(path: str | Path, *args: object) -> object:
        read.append(str(path))
        return load_yaml(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_yaml", counted)
    return read


def copied(tmp_path: Path, name: str = "valid.yaml") -> tuple[Path, str]:
    """A copy of the valid book, and the sha256 of its bytes."""
    book = tmp_path / name
    shutil.copy(BOOKS / "valid.yaml", book)
    return book, hashlib.sha256(book.read_bytes()).hexdigest()


def test_a_run_reads_its_book_once(tmp_path: Path, reads: list[str]) -> None:
    book, original = copied(tmp_path)
    prepared = prepare_run(str(book), NOW, RunRequest(), open_store(tmp_path.as_uri()))
    book.write_text(book.read_text() + "# edited while the run goes on\n")
    assert reads == [str(book)]
    assert prepared.hunt.loaded.sha256 == original
    assert prepared.hunt.loaded.book is prepared.hunt.book


def test_a_run_handed_a_checked_hunt_reads_nothing(tmp_path: Path, reads: list[str]) -> None:
    """``huntline run`` checks the book, then hands that read and plan to its flow
    (:func:`checked_hunt`): the book is read once in all, and an edit after the check changes
    nothing the run does or records."""
    book, original = copied(tmp_path)
    checked = prepare_hunt(str(book), NOW)
    book.write_text("not: a book\n")
    with checked_hunt(checked):
        prepared = prepare_run(str(book), NOW, RunRequest(), open_store(tmp_path.as_uri()))
    assert reads == [str(book)]
    assert prepared.hunt.plan is checked.plan and prepared.hunt.loaded.sha256 == original
    other, _ = copied(tmp_path, "other.yaml")  # a run of another file reads that file
    with checked_hunt(checked):
        prepare_run(str(other), NOW, RunRequest(), open_store(tmp_path.as_uri()))
    assert reads == [str(book), str(other)]
    with pytest.raises(BookError):  # and outside the block, the edited file is read
        prepare_run(str(book), NOW, RunRequest(), open_store(tmp_path.as_uri()))
