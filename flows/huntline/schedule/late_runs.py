"""Late scheduled runs whose window is already covered finish at once, as skipped.

Why: after the worker was down 3 minutes, the newest scheduled run caught up the gap (as it
should: :func:`huntline.schedule.run_window.decide_window`), then the three late runs executed
anyway, out of order, fetching windows already covered. Prefect has no setting that drops late
runs (its late-runs service only marks them ``Late``; a worker starts them whenever it can), so
the run itself decides: a scheduled run whose whole window is in the hunt's coverage record
fetches nothing and ends in a ``Completed`` state named ``Skipped``
(:func:`huntline.prefect.hunt_flow.hunt`), which the UI shows by that name with the reason as its
message, and which automations on failure do not take for an outage.

Only scheduled runs are skipped: a run given its window (the UI, ``huntline run``, a backfill)
or a retro-hunt is asked for on purpose.
"""

from __future__ import annotations

from huntline.schedule.coverage import Coverage
from huntline.schedule.run_window import RunWindow

SKIPPED = "Skipped"


def covered_already(window: RunWindow, coverage: Coverage | None) -> str | None:
    """Why a scheduled run need not run (its window is covered), or None if it must."""
    if window.kind != "scheduled" or window.window is None or coverage is None:
        return None
    if coverage.gaps(window.window):
        return None
    span = f"[{window.window.start.isoformat()}, {window.window.stop.isoformat()})"
    return (
        f"the scheduled window {span} is already covered by earlier runs (a later run caught "
        "it up after an outage): nothing fetched"
    )
