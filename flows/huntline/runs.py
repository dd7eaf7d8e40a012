"""Past runs, read back from object storage: what ``huntline runs list|show`` print.

Every run leaves ``<hunt-id>/<run-date>/<flow-run-id>/manifest.json`` in the store, whether it
completed or failed, so the manifests alone say which runs there were, when, over which window,
with what result. Reading them needs neither the Prefect server nor its database: a store copied
to another machine, or an S3 bucket read from a laptop, lists the same runs. The keys follow
:class:`huntline.run.RunContext`; other objects a hunt keeps beside its runs (a ledger, a
coverage record) have other shapes and are skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from huntline.errors import StorageError
from huntline.storage import ObjectStore

MANIFEST = "manifest.json"


class RunRecord(BaseModel):
    """One run, as its manifest describes it."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    hunt_id: str
    title: str
    run_date: str
    recorded_at: str | None
    status: str
    dry_run: bool
    window: str
    rows: dict[str, int]
    alert_count: int | None
    warnings: list[str]
    error: str | None
    manifest_uri: str
    flow_run_url: str | None

    @property
    def when(self) -> str:
        """When the run was recorded, to the second (its date for manifests without a time)."""
        if self.recorded_at is None:
            return self.run_date
        return datetime.fromisoformat(self.recorded_at).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_keys(store: ObjectStore, hunt_id: str | None = None) -> list[str]:
    """The keys of every run manifest in ``store``, of one hunt if ``hunt_id`` is given."""
    keys = store.list(f"{hunt_id}/" if hunt_id else "")
    return [key for key in keys if len(parts := key.split("/")) == 4 and parts[3] == MANIFEST]


def read_manifest(store: ObjectStore, key: str) -> dict[str, Any]:
    """The manifest at ``key``; raises :class:`StorageError` if it is not a JSON object."""
    try:
        manifest = orjson.loads(store.get_bytes(key))
    except orjson.JSONDecodeError as error:
        raise StorageError(f"run manifest {store.uri(key)} is not JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise StorageError(f"run manifest {store.uri(key)} is not a JSON object")
    return manifest


def record_of(store: ObjectStore, key: str, manifest: dict[str, Any]) -> RunRecord:
    """The summary of the run whose manifest is ``manifest``, stored at ``key``."""
    hunt_id, run_date, run_id, _ = key.split("/")
    alerts = manifest.get("alerts")
    return RunRecord(
        run_id=run_id,
        hunt_id=hunt_id,
        title=str((manifest.get("hunt") or {}).get("title", "")),
        run_date=run_date,
        recorded_at=manifest.get("recorded_at"),
        status=str(manifest.get("status", "unknown")),
        dry_run=bool(manifest.get("dry_run", False)),
        window=_window(manifest.get("windows") or {}),
        rows=final_rows(manifest),
        alert_count=alerts.get("count") if isinstance(alerts, dict) else None,
        warnings=[w for step in manifest.get("steps", []) for w in step.get("warnings", [])],
        error=manifest.get("error"),
        manifest_uri=store.uri(key),
        flow_run_url=manifest.get("flow_run_url"),
    )


def list_runs(store: ObjectStore, hunt_id: str | None = None) -> list[RunRecord]:
    """Every run in ``store`` (of one hunt if ``hunt_id`` is given), newest first.

    A manifest that cannot be read is listed with the status ``unreadable``, so one damaged
    object never hides the other runs.
    """
    records: list[RunRecord] = []
    for key in manifest_keys(store, hunt_id):
        try:
            records.append(record_of(store, key, read_manifest(store, key)))
        except StorageError as error:
            records.append(record_of(store, key, {"status": "unreadable", "error": error.message}))
    return sorted(records, key=lambda record: record.recorded_at or record.run_date, reverse=True)


def find_run(store: ObjectStore, run: str) -> tuple[str, dict[str, Any]]:
    """The manifest key and manifest of the run whose flow-run id is, or starts with, ``run``.

    Raises:
        StorageError: No run or several runs match.
    """
    matches = [key for key in manifest_keys(store) if key.split("/")[2].startswith(run)]
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise StorageError(
            f"{found} in {store.root} with an id starting {run!r}",
            hint="huntline runs list --storage ... shows the runs and their ids"
            if not matches
            else "give more of the id: " + ", ".join(key.split("/")[2] for key in matches),
        )
    return matches[0], read_manifest(store, matches[0])


def final_rows(manifest: dict[str, Any]) -> dict[str, int]:
    """The rows of each variable's final table (the last step that wrote it wins)."""
    rows: dict[str, int] = {}
    for step in manifest.get("steps", []):
        for variable, table in (step.get("tables") or {}).items():
            rows[variable] = int(table.get("rows", 0))
    return rows


def artifacts(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Every object a run wrote, as (what, URI): tables, displays, alerts, evidence."""
    found: list[tuple[str, str]] = []
    for step in manifest.get("steps", []):
        for variable, table in (step.get("tables") or {}).items():
            what = f"{step['step_id']} {variable} ({table.get('rows', 0)} rows)"
            found.append((what, table["uri"]))
        if step.get("display_uri"):
            found.append((f"{step['step_id']} display", step["display_uri"]))
    alerts = manifest.get("alerts")
    if isinstance(alerts, dict):
        for name in ("table", "evidence"):
            if isinstance(alerts.get(name), dict):
                found.append((f"alert {name}", alerts[name]["uri"]))
        if alerts.get("jsonl"):
            found.append(("alert jsonl", alerts["jsonl"]))
    return found


def _window(windows: dict[str, dict[str, str]]) -> str:
    """One window for the run: the steps' shared window, or the span of all of them."""
    if not windows:
        return "-"
    starts = [datetime.fromisoformat(window["start"]) for window in windows.values()]
    stops = [datetime.fromisoformat(window["stop"]) for window in windows.values()]
    shape = "%Y-%m-%dT%H:%M:%SZ"
    return f"{min(starts).strftime(shape)} – {max(stops).strftime(shape)}"
