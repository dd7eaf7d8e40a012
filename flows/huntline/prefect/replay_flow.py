"""``huntline replay`` as a Prefect flow, so its result is kept where the runs are: a table
artifact with one row per stored window (judged or not and why, the alerts then and now, new,
gone, unchanged).

The replay itself is :func:`huntline.replay.replay` (no source queried, no ledger written,
nobody notified); this flow only runs it and publishes its table. ``huntline replay --flow``
runs it on the server (``huntline server start``'s, or one started for it); without
``--flow`` the command prints the same table and needs no server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from huntline.replay import ReplayReport, replay


@flow(name="replay", flow_run_name="replay {book}")
def replay_flow(
    book: str, start: datetime, stop: datetime, storage: str | None = None
) -> ReplayReport:
    """Re-evaluate a book over the fetch tables its past runs stored, window by window.

    Args:
        book: Path of the (edited) hunt book.
        start: The range's start (ISO 8601): runs whose window overlaps it are replayed.
        stop: The range's stop.
        storage: Object storage root holding the runs; defaults to HUNTLINE_STORAGE, then
            file://.huntline/store.
    """
    report = replay(book, storage, start, stop)
    summary = report.record()
    create_table_artifact(
        key="replay",
        table=[_row(window) for window in summary["windows"]],
        description=(
            f"replay of {book} over {start.isoformat()} .. {stop.isoformat()}: "
            f"{summary['replayed']} window(s) judged, {summary['not_replayable']} not; "
            f"{summary['new']} new, {summary['gone']} gone, {summary['unchanged']} unchanged"
        ),
    )
    return report


def _row(window: dict[str, Any]) -> dict[str, Any]:
    """One stored window as a row: judged or not and why, and the alerts."""
    judged = window["replayable"]
    return {
        "window": f"{window['start']} .. {window['stop']}",
        "run": window["run_id"],
        "judged": "yes" if judged else "no",
        "why not": "" if judged else window["reason"],
        "then": window.get("then", ""),
        "now": window.get("now", ""),
        "new": ", ".join(a["title"] or a["alert_id"] for a in window.get("new", [])),
        "gone": ", ".join(a["title"] or a["alert_id"] for a in window.get("gone", [])),
        "unchanged": window.get("unchanged", ""),
    }
