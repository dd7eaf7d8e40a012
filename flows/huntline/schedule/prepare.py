"""Everything a run decides before its first task: its window and its indicators.

The flow (:mod:`huntline.prefect.hunt_flow`) calls :func:`prepare_run` with what it was asked (the
run's parameters and its scheduled time) and gets back the compiled hunt with the run's window, the
run's indicators (given, or read from a stored table), and the window the run adds to the
coverage record when it completes. The get steps render their patterns with the indicators
(:func:`huntline.steps.get.retro_step`) from the run context.

A run reads and compiles its book once. ``huntline run`` reads and compiles it before it starts
a server or a flow, so a bad book fails at once with its place; it hands that
:class:`~huntline.compile.PreparedHunt` to the flow it runs in the same process through
:func:`checked_hunt`, and :func:`prepare_run` uses it instead of reading the file again: the
manifest's digest is that of the bytes checked and run, even if the file changes meanwhile. A
flow run on a worker, with no hunt handed over, reads the file itself (once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from huntline.book.loader import LoadedBook
from huntline.compile import Plan, PreparedHunt, compile_book, resolve_windows
from huntline.intel.retro import run_indicators
from huntline.intel.template import Indicators
from huntline.schedule.coverage import load_coverage
from huntline.schedule.late_runs import covered_already
from huntline.schedule.run_window import RunWindow, decide_window
from huntline.steps.book_checks import read_hunt
from huntline.storage import ObjectStore
from huntline.window import Window


@dataclass(frozen=True)
class RunRequest:
    """What a run was asked to do, from its parameters."""

    start: datetime | None = None
    stop: datetime | None = None
    source: str | None = None
    indicators: Indicators | None = None
    intel_feed: str | None = None
    intel_parquet: str | None = None
    scheduled_at: datetime | None = None  # set for a run that covers its scheduled window
    dry_run: bool = False


@dataclass(frozen=True)
class PreparedRun:
    hunt: PreparedHunt
    window: RunWindow
    indicators: Indicators
    feed: str
    skip: str | None = None  # why a late scheduled run need not run (schedule.late_runs)

    @property
    def retro(self) -> bool:
        return bool(self.indicators)

    def coverage_window(self, dry_run: bool) -> Window | None:
        """What the run adds to the coverage record: every get step's common window, unless
        it is a retro-hunt or a dry run (neither searched everything the book looks for)."""
        if self.retro or dry_run or not self.hunt.windows:
            return None
        windows = list(self.hunt.windows.values())
        start, stop = max(w.start for w in windows), min(w.stop for w in windows)
        return Window(start, stop) if start < stop else None


_CHECKED: ContextVar[PreparedHunt | None] = ContextVar("huntline_checked_hunt", default=None)


@contextmanager
def checked_hunt(hunt: PreparedHunt) -> Iterator[None]:
    """While in this block, a run of ``hunt``'s book file in this process (the flow that
    ``huntline run`` calls) uses ``hunt``'s bytes and plan instead of reading the file again."""
    token = _CHECKED.set(hunt)
    try:
        yield
    finally:
        _CHECKED.reset(token)


def _read_and_compile(book: str) -> tuple[LoadedBook, Plan]:
    """The book handed over by :func:`checked_hunt` for this file, else the file read now."""
    checked = _CHECKED.get()
    if checked is not None and checked.loaded.path == book:
        return checked.loaded, checked.plan
    loaded = read_hunt(book)  # once: the plan and the manifest's digest come from these bytes
    return loaded, compile_book(loaded.book)


def prepare_run(book: str, now: datetime, request: RunRequest, store: ObjectStore) -> PreparedRun:
    """Decide the run's window and indicators; raises the book's, window's or storage's errors."""
    loaded, plan = _read_and_compile(book)
    model = loaded.book
    indicators = run_indicators(store, request.indicators, request.intel_parquet)
    coverage = (
        load_coverage(store, str(model.id))
        if request.scheduled_at is not None and model.schedule is not None
        else None
    )
    window = decide_window(
        model,
        now=now,
        start=request.start,
        stop=request.stop,
        retro=bool(indicators),
        scheduled_at=request.scheduled_at,
        coverage=coverage,
    )
    start, stop = (
        (window.window.start, window.window.stop)
        if window.window
        else (request.start, request.stop)
    )
    hunt = PreparedHunt(plan=plan, windows=resolve_windows(plan, now, start, stop), loaded=loaded)
    feed = request.intel_feed or ("run parameters" if indicators else "")
    skip = covered_already(window, coverage)
    return PreparedRun(hunt=hunt, window=window, indicators=indicators, feed=feed, skip=skip)
