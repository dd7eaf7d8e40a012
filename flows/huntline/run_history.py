"""Past runs, read back from object storage: what ``huntline runs list|show`` print.

Every run leaves ``<hunt-id>/<run-date>/<flow-run-id>/manifest.json`` in the store, whether it
completed or failed, so the manifests alone say which runs there were, when, over which window,
with what result. Reading them needs neither the Prefect server nor its database: a store copied
to another machine, or an S3 bucket read from a laptop, lists the same runs. The keys follow
:class:`huntline.steps.finish.RunContext`; other objects a hunt keeps beside its runs (a ledger, a
coverage record) have other shapes and are skipped.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from huntline.errors import StorageError
from huntline.manifest import RunManifest, WindowInfo, parse_manifest
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
    #: The alerts are what a run stopped by a failed gate would have raised (not delivered).
    gated: bool = False

    @property
    def alerts(self) -> str:
        """The alert count as shown: ``-`` without an alert section, ``3 gated``."""
        if self.alert_count is None:
            return "-"
        return f"{self.alert_count} gated" if self.gated else str(self.alert_count)

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


def read_manifest(store: ObjectStore, key: str) -> RunManifest:
    """The manifest at ``key``; raises :class:`StorageError` if it cannot be read as one."""
    return parse_manifest(store.get_bytes(key), store.uri(key))


def record_of(store: ObjectStore, key: str, manifest: RunManifest) -> RunRecord:
    """The summary of the run whose manifest is ``manifest``, stored at ``key``."""
    hunt_id, run_date, run_id, _ = key.split("/")
    return RunRecord(
        run_id=run_id,
        hunt_id=hunt_id,
        title=manifest.hunt.title,
        run_date=run_date,
        recorded_at=manifest.recorded_at.isoformat(),
        status=manifest.status,
        dry_run=manifest.dry_run,
        window=_window(manifest.windows),
        rows=final_rows(manifest),
        alert_count=None if manifest.alerts is None else manifest.alerts.count,
        warnings=[warning for step in manifest.steps for warning in step.warnings],
        error=manifest.error,
        manifest_uri=store.uri(key),
        flow_run_url=manifest.flow_run_url,
        gated=manifest.alerts is not None and manifest.alerts.gated,
    )


def _unreadable(store: ObjectStore, key: str, error: StorageError) -> RunRecord:
    """A run whose manifest cannot be read, listed so that it does not hide."""
    hunt_id, run_date, run_id, _ = key.split("/")
    return RunRecord(
        run_id=run_id,
        hunt_id=hunt_id,
        title="",
        run_date=run_date,
        recorded_at=None,
        status="unreadable",
        dry_run=False,
        window="-",
        rows={},
        alert_count=None,
        warnings=[],
        error=error.message,
        manifest_uri=store.uri(key),
        flow_run_url=None,
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
            records.append(_unreadable(store, key, error))
    return sorted(records, key=lambda record: record.recorded_at or record.run_date, reverse=True)


def find_run(store: ObjectStore, run: str) -> tuple[str, RunManifest]:
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


def final_rows(manifest: RunManifest) -> dict[str, int]:
    """The rows of each variable's final table (the last step that wrote it wins)."""
    return {
        variable: table.rows for step in manifest.steps for variable, table in step.tables.items()
    }


def artifacts(manifest: RunManifest) -> list[tuple[str, str]]:
    """Every object a run wrote, as (what, URI): tables, displays, alerts, evidence."""
    found: list[tuple[str, str]] = []
    for step in manifest.steps:
        for variable, table in step.tables.items():
            found.append((f"{step.step_id} {variable} ({table.rows} rows)", table.uri))
        if step.display_uri:
            found.append((f"{step.step_id} display", step.display_uri))
    alerts = manifest.alerts
    if alerts is not None:
        found += [
            (f"alert {name}", ref.uri)
            for name, ref in (("table", alerts.table), ("evidence", alerts.evidence))
            if ref is not None
        ]
        if alerts.jsonl:
            found.append(("alert jsonl", alerts.jsonl))
    return found


def _window(windows: dict[str, WindowInfo]) -> str:
    """One window for the run: the steps' shared window, or the span of all of them."""
    if not windows:
        return "-"
    shape = "%Y-%m-%dT%H:%M:%SZ"
    start = min(window.start for window in windows.values())
    stop = max(window.stop for window in windows.values())
    return f"{start.strftime(shape)} – {stop.strftime(shape)}"
