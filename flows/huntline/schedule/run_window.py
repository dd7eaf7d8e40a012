"""Which time window a run covers, so that scheduled runs leave no gaps.

- A window given to the run (the UI, ``huntline run --start/--stop``, a backfill) is used as is.
- A retro-hunt (a run with indicators) searches the book's ``intel.lookback`` up to now.
- A scheduled run ends at its *scheduled* time, not the wall clock, and reaches back by the
  look-back plus the overlap, so a late start changes nothing. If the coverage record ends
  before that, the run reaches back to cover the gap, by at most ``max_catchup``; what stays
  uncovered beyond that is reported.
- Otherwise the book's own windows apply, relative to now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from huntline.book import HuntBook, parse_duration
from huntline.book.schedule import Schedule
from huntline.schedule.coverage import Coverage
from huntline.window import Window

WindowKind = Literal["given", "retro", "scheduled", "book", "pack"]


@dataclass(frozen=True)
class RunWindow:
    """The run's window (None: the book's own, per step) and how it was decided."""

    kind: WindowKind
    window: Window | None = None
    caught_up: Window | None = None  # a gap this run covers beyond its normal window
    uncovered: Window | None = None  # a gap too old to catch up

    def describe(self) -> str:
        what = {
            "given": "the window given to the run",
            "retro": "the retro-hunt look-back",
            "scheduled": "the scheduled window",
            "book": "the book's window",
            "pack": "the pack's window",
        }[self.kind]
        text = f"{what}" + (f" {_span(self.window)}" if self.window else "")
        if self.caught_up:
            text += f"; it catches up the gap {_span(self.caught_up)}"
        if self.uncovered:
            text += f"; the gap {_span(self.uncovered)} stays uncovered (beyond max_catchup)"
        return text


def _span(window: Window) -> str:
    return f"[{window.start.isoformat()}, {window.stop.isoformat()})"


def decide_window(
    book: HuntBook,
    *,
    now: datetime,
    start: datetime | None = None,
    stop: datetime | None = None,
    retro: bool = False,
    scheduled_at: datetime | None = None,
    coverage: Coverage | None = None,
) -> RunWindow:
    """The window of one run; see the module's docstring for the rules, in order."""
    if start is not None or stop is not None:
        return RunWindow("given", Window(start, stop) if start and stop else None)
    if retro and book.intel is not None:
        return RunWindow("retro", Window.last(parse_duration(book.intel.lookback), now=now))
    if scheduled_at is None or book.schedule is None or book.window.last is None:
        return RunWindow("book")
    return scheduled_window(book.schedule, book.window.last, scheduled_at, coverage)


def scheduled_window(
    schedule: Schedule, lookback: str, scheduled_at: datetime, coverage: Coverage | None
) -> RunWindow:
    """The window of a scheduled run with look-back ``lookback``: a book's, or a rule pack's
    (:mod:`huntline.prefect.pack_flow`), whose coverage record is the pack's own."""
    reach = parse_duration(lookback) + parse_duration(schedule.overlap)
    normal = Window(scheduled_at - reach, scheduled_at)
    last = coverage.covered_until(normal.start) if coverage is not None else None
    if coverage is None or last is None or coverage.covers(normal.start) or last >= normal.start:
        return RunWindow("scheduled", normal)
    earliest = normal.start - parse_duration(schedule.max_catchup)
    reached = max(last, earliest)
    return RunWindow(
        "scheduled",
        Window(reached, normal.stop),
        caught_up=Window(reached, normal.start) if reached < normal.start else None,
        uncovered=Window(last, reached) if last < reached else None,
    )
