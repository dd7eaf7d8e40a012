"""Backfill planning and its bounded, resumable run (windows run by a stand-in runner)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from huntline.errors import ScheduleError
from huntline.schedule.backfill import run_backfill
from huntline.schedule.coverage import record_coverage
from huntline.storage import open_store
from huntline.window import Window

START = datetime(2024, 6, 3, tzinfo=UTC)
BOOK = """\
id: 6a0f3c2e-1d4b-4e8a-9c7f-2b5d8e1a4c90
title: hourly
window: {last: 1h}
steps:
  - get: procs
    entity: process
    from: file://x.json
    where: "[process:pid > 0]"
"""


@pytest.fixture
def book(tmp_path: Path) -> str:
    path = tmp_path / "hourly.yaml"
    path.write_text(BOOK)
    return str(path)


def test_windows_run_bounded_and_resume_skips_covered(book: str, tmp_path: Path) -> None:
    storage = str(tmp_path / "store")
    store = open_store(storage)
    record_coverage(
        store, "6a0f3c2e-1d4b-4e8a-9c7f-2b5d8e1a4c90", Window(START, START + timedelta(hours=2))
    )
    lock, active, peak, seen = threading.Lock(), [0], [0], []

    def runner(window: Window) -> bool:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            seen.append(window.start.hour)
        threading.Event().wait(0.05)
        with lock:
            active[0] -= 1
        return window.start.hour != 4

    result = run_backfill(
        book,
        START,
        START + timedelta(hours=5, minutes=30),
        run_window=runner,
        concurrency=2,
        storage=storage,
    )
    assert [w.start.hour for w in result.skipped] == [0, 1]
    assert sorted(seen) == [2, 3, 4, 5]
    assert result.windows[-1] == Window(
        START + timedelta(hours=5), START + timedelta(hours=5, minutes=30)
    )
    assert [w.start.hour for w in result.failed] == [4]
    assert peak[0] == 2


def test_bad_ranges_are_clear_errors(book: str) -> None:
    def never(window: Window) -> bool:
        raise AssertionError("no window should run")

    with pytest.raises(ScheduleError, match="the backfill range is reversed or empty"):
        run_backfill(book, START, START, run_window=never)
    with pytest.raises(ScheduleError, match="the backfill range ends in the future"):
        run_backfill(book, START, datetime.now(UTC) + timedelta(days=1), run_window=never)
    with pytest.raises(ScheduleError, match="--concurrency must be at least 1"):
        run_backfill(book, START, START + timedelta(hours=1), run_window=never, concurrency=0)


def test_a_bad_range_fails_before_any_server(
    book: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from huntline.cli import main

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing answers there
    assert main(["backfill", book, "--from", "2026-01-02", "--to", "2026-01-01"]) == 1
    error = capsys.readouterr().err
    assert "the backfill range is reversed or empty" in error and "does not answer" not in error
