"""Issue 23, item 9: after an outage the newest scheduled run catches up the gap, and the late
runs whose windows it covered finish as skipped instead of fetching again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from inline_books import scheduled_book

from huntline.schedule.coverage import record_coverage
from huntline.schedule.prepare import RunRequest, prepare_run
from huntline.storage import open_store
from huntline.window import Window

HUNT_ID = "0b7c9f52-6a1e-4d3b-8f20-5c4e1a9d7b63"
BOOK = scheduled_book(HUNT_ID, "Every minute")
NOW = datetime(2026, 12, 7, 12, 10, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_an_outage_catches_up_once_and_the_late_runs_skip(tmp_path: Path) -> None:
    book = tmp_path / "every_minute.yaml"
    book.write_text(BOOK)
    store = open_store(f"file://{tmp_path / 'store'}")
    record_coverage(store, HUNT_ID, Window(NOW - 20 * MINUTE, NOW - 4 * MINUTE))  # then down

    def scheduled(at: datetime) -> RunRequest:
        return RunRequest(scheduled_at=at)

    newest = prepare_run(str(book), NOW, scheduled(NOW), store)
    assert newest.skip is None
    assert newest.window.caught_up == Window(NOW - 4 * MINUTE, NOW - 90 * timedelta(seconds=1))
    covered = newest.coverage_window(dry_run=False)
    assert covered is not None
    record_coverage(store, HUNT_ID, covered)  # as the completed run does

    for late in (NOW - 3 * MINUTE, NOW - 2 * MINUTE, NOW - MINUTE):
        run = prepare_run(str(book), NOW, scheduled(late), store)
        start = (late - 90 * timedelta(seconds=1)).isoformat()
        assert run.skip == (
            f"the scheduled window [{start}, {late.isoformat()}) is already covered by earlier "
            "runs (a later run caught it up after an outage): nothing fetched"
        )
    assert prepare_run(str(book), NOW, scheduled(NOW + MINUTE), store).skip is None


def test_a_run_given_its_window_is_never_skipped(tmp_path: Path) -> None:
    book = tmp_path / "every_minute.yaml"
    book.write_text(BOOK)
    store = open_store(f"file://{tmp_path / 'store'}")
    record_coverage(store, HUNT_ID, Window(NOW - 20 * MINUTE, NOW))
    given = RunRequest(start=NOW - 5 * MINUTE, stop=NOW - 4 * MINUTE)
    assert prepare_run(str(book), NOW, given, store).skip is None
