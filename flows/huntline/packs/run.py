"""One pack run: one fetch, then every member over it, each as if it had run alone.

The covering fetch is the "every entity" pattern of the pack's type
(:func:`huntline.book.observables.every_entity_pattern`), run once as an ordinary ``get`` under
the pack's id (``<root>/<pack>/<date>/<run>/00_get/<entity>.parquet``). Why not the OR of the
members' patterns: stix-shifter's translation cost grows very fast with the pattern's size
(about 9 s at 2,000 operators, FIELD-NOTES), and a pack of hundreds of rules would need it split
into many queries; one "all of this entity" pull is one query whatever the pack's size, and
each member's own pattern then selects its rows locally (:mod:`huntline.patterns`). The cost is
the rows no member wants, fetched once.

Each member then runs in its own context: ``hunt_id`` is the member's id, so its alert ids
(dedup keys), suppression and ledger (``<root>/<member>/ledger``) are its own, exactly as when it
runs alone; its selected table, later steps, alerts and manifest are stored under its own
prefix. A member that fails (a failed quality gate, a condition reading a missing column) is
reported with its error and the others go on.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huntline.book.observables import every_entity_pattern
from huntline.book.steps import GetStep
from huntline.compile import compile_book, resolve_windows
from huntline.errors import HuntlineError
from huntline.packs.model import Member, Pack
from huntline.patterns import compile_pattern
from huntline.steps import finish
from huntline.steps.context import RunContext
from huntline.steps.get import fetch_step
from huntline.steps.given_tables import alert_table, run_with_tables
from huntline.storage import ObjectStore, TableRef, key_of, open_store
from huntline.tables import parquet_bytes, parquet_table
from huntline.window import Window

__all__ = ["MemberResult", "PackReport", "run_pack"]


@dataclass(frozen=True)
class MemberResult:
    """What one member did in the pack run."""

    hunt_id: str
    title: str
    rows: int = 0
    alerts: tuple[str, ...] = ()
    seconds: float = 0.0
    error: str | None = None
    manifest: str | None = None


@dataclass(frozen=True)
class PackReport:
    """The pack run: its one fetch and every member."""

    pack: str
    run_id: str
    window: Window
    fetched: TableRef
    fetch_seconds: float
    members: tuple[MemberResult, ...] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "run_id": self.run_id,
            "window": {
                "start": self.window.start.isoformat(),
                "stop": self.window.stop.isoformat(),
            },
            "fetched": {"uri": self.fetched.uri, "rows": self.fetched.rows},
            "fetch_seconds": round(self.fetch_seconds, 3),
            "members": [
                {
                    "hunt_id": m.hunt_id,
                    "title": m.title,
                    "rows": m.rows,
                    "alerts": len(m.alerts),
                    "alert_ids": list(m.alerts),
                    "seconds": round(m.seconds, 3),
                    "error": m.error,
                    "manifest": m.manifest,
                }
                for m in self.members
            ],
        }


def run_pack(
    pack: Pack,
    storage: str | None,
    now: datetime,
    *,
    start: datetime | None = None,
    stop: datetime | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
    source: str | None = None,
) -> PackReport:
    """Fetch once for ``pack`` and run every member over the result; see the module docstring.
    ``source`` reads another data source than the pack's (as ``huntline run --source``).

    Raises:
        DataSourceError, FetchError: The shared fetch failed (no member can run).
    """
    spec = pack.spec
    window = _window(pack, now, start, stop)
    run_id = run_id or uuid.uuid4().hex
    store = open_store(storage)
    context = RunContext(
        storage=store.root, hunt_id=spec.pack, run_date=window.stop.date().isoformat(),
        flow_run_id=run_id, dry_run=dry_run, source=source,
    )  # fmt: skip
    every = GetStep.model_validate(
        {"get": spec.entity.replace("-", "_"), "entity": spec.entity, "from": spec.source,
         "where": every_entity_pattern(spec.entity)}
    )  # fmt: skip
    began = time.perf_counter()
    fetched = fetch_step(context, "00_get", every, window).tables[every.get]
    fetch_seconds = time.perf_counter() - began
    shared = parquet_table(store.get_bytes(key_of(store, fetched.uri)))
    members = tuple(
        _run_member(store, member, shared, window, run_id, dry_run, now) for member in pack.members
    )
    return PackReport(spec.pack, run_id, window, fetched, fetch_seconds, members)


def _window(pack: Pack, now: datetime, start: datetime | None, stop: datetime | None) -> Window:
    if start is not None and stop is not None:
        return Window(start, stop)
    return pack.spec.window.resolve(now)


def _run_member(
    store: ObjectStore,
    member: Member,
    shared: Any,
    window: Window,
    run_id: str,
    dry_run: bool,
    now: datetime,
) -> MemberResult:
    book = member.book
    began = time.perf_counter()
    context = RunContext(
        storage=store.root, hunt_id=str(book.id), run_date=window.stop.date().isoformat(),
        flow_run_id=run_id, dry_run=dry_run,
    )  # fmt: skip
    result = MemberResult(str(book.id), book.title)
    try:
        plan = compile_book(book)
        windows = resolve_windows(plan, now, window.start, window.stop)
        selected: dict[str, int] = {}

        def table_for(step_id: str, step: GetStep) -> TableRef:
            kept = shared.filter(compile_pattern(step.where).table_mask(shared, step.entity))
            selected[step.get] = kept.num_rows
            return _put(store, context.key(step_id, f"{step.get}.parquet"), kept)

        outputs = run_with_tables(plan, context, windows, table_for)
        alerts = None
        if book.alert is not None:
            table = alert_table(plan, outputs, book)
            alerts = finish.alert_step(context, book, table, now, window)
        manifest = finish.write_manifest(
            context, book=member.loaded, windows=windows,
            steps=list(outputs.values()), alerts=alerts, status="completed",
        )  # fmt: skip
    except HuntlineError as error:
        seconds = time.perf_counter() - began
        return MemberResult(result.hunt_id, result.title, seconds=seconds, error=str(error))
    ids = tuple(alert.alert_id for alert in alerts.alerts) if alerts else ()
    return MemberResult(
        result.hunt_id, result.title, rows=sum(selected.values()), alerts=ids,
        seconds=time.perf_counter() - began, manifest=manifest,
    )  # fmt: skip


def _put(store: ObjectStore, key: str, table: Any) -> TableRef:
    data = parquet_bytes(table)
    store.put_bytes(key, data)
    return TableRef(
        uri=store.uri(key), rows=table.num_rows, columns=table.column_names,
        sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
