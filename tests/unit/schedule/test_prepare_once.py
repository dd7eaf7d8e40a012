"""A run reads its book once (issue 21 item 5): the plan and the manifest's sha256 come from the
same bytes, so an edit to the file while the run goes on changes neither."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.book import loader
from huntline.schedule.prepare import RunRequest, prepare_run
from huntline.storage import open_store

BOOKS = Path(__file__).parents[2] / "files" / "books"
NOW = datetime(2024, 6, 4, tzinfo=UTC)


def test_a_run_reads_its_book_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = tmp_path / "valid.yaml"
    shutil.copy(BOOKS / "valid.yaml", book)
    original = hashlib.sha256(book.read_bytes()).hexdigest()
    reads: list[str] = []
    load_yaml = loader.load_yaml

    def counted(path: str | Path, *args: object) -> object:
        reads.append(str(path))
        return load_yaml(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_yaml", counted)
    prepared = prepare_run(str(book), NOW, RunRequest(), open_store(tmp_path.as_uri()))
    book.write_text(book.read_text() + "# edited while the run goes on\n")
    assert reads == [str(book)]
    assert prepared.hunt.loaded.sha256 == original
    assert prepared.hunt.loaded.book is prepared.hunt.book
