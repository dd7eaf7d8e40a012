"""Which window a pack run covers: a book's rules (:mod:`.run_window`), with the pack's own
schedule, look-back and coverage record.

A window given to the run is used as is; a scheduled run ends at its scheduled time and catches
up a gap in the pack's coverage record (``<pack>/coverage/intervals.json``, keyed by the pack's
id: the pack queries the source, so the pack is what covers a window, and
:func:`huntline.packs.run_pack` adds a window to it once its fetch succeeded, and each member
that succeeded to the member's own record); otherwise the
pack's ``window:`` applies, relative to now (:func:`huntline.packs.pack_window`). A late
scheduled run whose window is covered already is skipped, as a book's is (:mod:`.late_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from huntline.packs import Pack, pack_window
from huntline.schedule.coverage import load_coverage
from huntline.schedule.late_runs import covered_already
from huntline.schedule.run_window import RunWindow, scheduled_window
from huntline.storage import ObjectStore
from huntline.window import Window


@dataclass(frozen=True)
class PackWindow:
    """The pack run's window, how it was decided, and why it need not run (or None)."""

    decided: RunWindow
    window: Window
    skip: str | None = None


def decide_pack_window(
    pack: Pack,
    store: ObjectStore,
    *,
    now: datetime,
    start: datetime | None = None,
    stop: datetime | None = None,
    scheduled_at: datetime | None = None,
) -> PackWindow:
    """The window of one pack run; see the module docstring.

    Raises:
        CompileError: Only one of ``start`` and ``stop`` is given.
    """
    spec = pack.spec
    if start is not None or stop is not None or scheduled_at is None or spec.schedule is None:
        window = pack_window(pack, now, start, stop)
        return PackWindow(RunWindow("pack" if start is None else "given", window), window)
    assert spec.window.last is not None  # a scheduled pack has a look-back (PackFile)
    coverage = load_coverage(store, spec.pack)
    decided = scheduled_window(spec.schedule, spec.window.last, scheduled_at, coverage)
    assert decided.window is not None  # a scheduled window is always known
    return PackWindow(decided, decided.window, covered_already(decided, coverage))
