"""Backfill: run a hunt over a past range, window by window, like a retrohunt.

The range is split into windows of the book's look-back (``window.last``), or a rule pack's.
Windows the coverage record already holds are skipped, so a backfill that was interrupted (Ctrl-C, a
killed process) resumes where it stopped without redoing finished windows: each completed
window run adds itself to the record. At most ``concurrency`` windows run at once, each as its
own flow run; a cancel stops scheduling new windows and waits for the running ones.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from huntline.book.fields import WindowSpec
from huntline.errors import ScheduleError
from huntline.schedule.coverage import Coverage, load_coverage
from huntline.steps.book_checks import load_hunt
from huntline.storage import open_store
from huntline.window import Window, parse_duration


class Windowed(Protocol):
    """What a backfill splits by: a hunt book, or a rule pack's file."""

    @property
    def title(self) -> str: ...

    @property
    def window(self) -> WindowSpec: ...


#: Runs the hunt over one window and returns whether it completed.
WindowRunner = Callable[[Window], bool]


@dataclass
class BackfillResult:
    windows: list[Window]
    skipped: list[Window] = field(default_factory=list)
    completed: list[Window] = field(default_factory=list)
    failed: list[Window] = field(default_factory=list)


def plan_backfill(
    book: Windowed, start: datetime, stop: datetime, coverage: Coverage, now: datetime
) -> tuple[list[Window], list[Window]]:
    """The windows to run and those already covered; errors on a reversed or future range."""
    if start >= stop:
        raise ScheduleError(
            f"the backfill range is reversed or empty: --from {start.isoformat()} is not before "
            f"--to {stop.isoformat()}"
        )
    if stop > now:
        raise ScheduleError(
            f"the backfill range ends in the future ({stop.isoformat()}, now is "
            f"{now.isoformat(timespec='seconds')})",
            hint="the schedule covers what is still to come; backfill covers the past",
        )
    if book.window.last is None:
        raise ScheduleError(
            f"{book.title}: a backfill splits the range by the book's look-back, and its window "
            "is absolute",
            hint="give it window: {last: 1h} (or run it once over the range)",
        )
    step = parse_duration(book.window.last)
    todo: list[Window] = []
    done: list[Window] = []
    cursor = start
    while cursor < stop:
        window = Window(cursor, min(cursor + step, stop))
        (done if not coverage.gaps(window) else todo).append(window)
        cursor = window.stop
    return todo, done


def plan_range(
    book_path: str,
    start: datetime,
    stop: datetime,
    *,
    concurrency: int = 2,
    storage: str | None = None,
) -> BackfillResult:
    """The backfill's windows, with those already covered marked skipped; nothing runs yet,
    so a bad range or book fails before a server is started or a window is run."""
    if concurrency < 1:  # before the book is read: the cheapest error first
        raise ScheduleError(f"--concurrency must be at least 1, got {concurrency}")
    book = load_hunt(book_path)
    return plan_windows(str(book.id), book, start, stop, storage=storage)


def plan_windows(
    hunt_id: str, hunt: Windowed, start: datetime, stop: datetime, *, storage: str | None = None
) -> BackfillResult:
    """:func:`plan_range` for a hunt read already (a book, or a pack under its pack id)."""
    coverage = load_coverage(open_store(storage), hunt_id)
    todo, done = plan_backfill(hunt, start, stop, coverage, datetime.now(UTC))
    return BackfillResult(windows=[*done, *todo], skipped=done)


def run_planned(
    result: BackfillResult,
    *,
    run_window: WindowRunner,
    concurrency: int = 2,
    progress: Callable[[BackfillResult], None] = lambda _: None,
) -> BackfillResult:
    """Run the windows of ``result`` that are not skipped, at most ``concurrency`` at a time."""
    progress(result)
    pending = [window for window in result.windows if window not in result.skipped]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        running: dict[Future[bool], Window] = {}
        try:
            while pending or running:
                while pending and len(running) < concurrency:
                    window = pending.pop(0)
                    running[pool.submit(run_window, window)] = window
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    window = running.pop(future)
                    ok = future.exception() is None and future.result()
                    (result.completed if ok else result.failed).append(window)
                progress(result)
        except KeyboardInterrupt:
            # Stop scheduling; the windows already running finish and are recorded.
            pending.clear()
            wait(running)
            raise
    return result


def run_backfill(
    book_path: str,
    start: datetime,
    stop: datetime,
    *,
    run_window: WindowRunner,
    concurrency: int = 2,
    storage: str | None = None,
    progress: Callable[[BackfillResult], None] = lambda _: None,
) -> BackfillResult:
    """Plan the range and run every uncovered window, at most ``concurrency`` at a time."""
    planned = plan_range(book_path, start, stop, concurrency=concurrency, storage=storage)
    return run_planned(planned, run_window=run_window, concurrency=concurrency, progress=progress)
