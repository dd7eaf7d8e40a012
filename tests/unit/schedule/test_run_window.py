"""Run windows without gaps, and the coverage record."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from huntline.book import parse_book
from huntline.errors import StorageError
from huntline.schedule.coverage import Coverage, load_coverage, record_coverage
from huntline.schedule.run_window import decide_window
from huntline.storage import open_store
from huntline.window import Window

T = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BOOK = parse_book(
    """
id: 11111111-2222-3333-4444-555555555555
title: t
window: {last: 30m}
schedule: {cron: "*/30 * * * *", overlap: 5m, max_catchup: 2h}
intel: {feeds: [sample], lookback: 30d}
steps:
  - get: procs
    entity: process
    from: file://x.json
    where: "[process:pid > 0]"
"""
)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def test_scheduled_window_ends_at_the_scheduled_time() -> None:
    decided = decide_window(
        BOOK, now=T + minutes(7), scheduled_at=T, coverage=Coverage(hunt_id="h")
    )
    assert (decided.kind, decided.window) == ("scheduled", Window(T - minutes(35), T))


def test_a_gap_is_caught_up_within_max_catchup_and_reported_beyond() -> None:
    covered = Coverage(hunt_id="h").add(Window(T - minutes(200), T - minutes(90)))
    decided = decide_window(BOOK, now=T, scheduled_at=T, coverage=covered)
    assert decided.window == Window(T - minutes(90), T)
    assert decided.caught_up == Window(T - minutes(90), T - minutes(35))
    assert decided.uncovered is None
    old = Coverage(hunt_id="h").add(Window(T - minutes(500), T - minutes(400)))
    far = decide_window(BOOK, now=T, scheduled_at=T, coverage=old)
    assert far.window == Window(T - minutes(155), T)
    assert far.uncovered == Window(T - minutes(400), T - minutes(155))
    assert "stays uncovered (beyond max_catchup)" in far.describe()


def test_given_retro_and_book_windows() -> None:
    given = decide_window(BOOK, now=T, start=T - minutes(5), stop=T, scheduled_at=T)
    assert (given.kind, given.window) == ("given", Window(T - minutes(5), T))
    retro = decide_window(BOOK, now=T, retro=True, scheduled_at=T)
    assert (retro.kind, retro.window) == ("retro", Window(T - timedelta(days=30), T))
    assert decide_window(BOOK, now=T).kind == "book"


def test_coverage_merges_and_finds_gaps(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    record_coverage(store, "h", Window(T - minutes(60), T - minutes(30)))
    record_coverage(store, "h", Window(T - minutes(35), T - minutes(10)))
    record_coverage(store, "h", Window(T, T + minutes(10)))
    coverage = load_coverage(store, "h")
    assert coverage.intervals == [(T - minutes(60), T - minutes(10)), (T, T + minutes(10))]
    assert coverage.gaps(Window(T - minutes(90), T + minutes(20))) == [
        Window(T - minutes(90), T - minutes(60)),
        Window(T - minutes(10), T),
        Window(T + minutes(10), T + minutes(20)),
    ]


def test_runs_finishing_together_lose_no_window(tmp_path: Path) -> None:
    """Eight runs record their windows at once (threads, each with its own lock handle)."""
    store = open_store(str(tmp_path))
    windows = [Window(T + timedelta(hours=2 * i), T + timedelta(hours=2 * i + 1)) for i in range(8)]
    threads = [threading.Thread(target=record_coverage, args=(store, "h", w)) for w in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert load_coverage(store, "h").intervals == [(w.start, w.stop) for w in windows]


def test_an_unreadable_record_is_an_error_and_is_left_as_it_is(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    store.put_bytes("h/coverage/intervals.json", b"{not json")
    with pytest.raises(StorageError) as caught:
        record_coverage(store, "h", Window(T, T + minutes(10)))
    assert caught.value.message.startswith(
        f"the coverage record {store.uri('h/coverage/intervals.json')} is not readable: "
    )
    assert store.get_bytes("h/coverage/intervals.json") == b"{not json"
