"""One pack run: one fetch, then every member over it, each as if it had run alone.

The covering fetch (:mod:`.cover`: the OR of the members' patterns in chunks, or every entity
of the type) runs once as an ordinary ``get`` under the pack's id
(``<root>/<pack>/<date>/<run>/00_get/<entity>.parquet``); each member's own pattern then
selects its rows locally (:mod:`huntline.patterns`).

Each member then runs in its own context: ``hunt_id`` is the member's id, so its alert ids
(dedup keys), suppression and ledger (``<root>/<member>/ledger``) are its own, exactly as when it
runs alone; its selected table, later steps, alerts and manifest are stored under its own
prefix. A member that fails (a failed quality gate, a condition reading a missing column) is
reported with its error and the others go on.

Coverage is kept at two levels. A run that is no dry run and whose fetch succeeded adds its
window to the pack's coverage record (``<root>/<pack>/coverage``, as a book's run does), which
``huntline coverage PACK`` shows and ``huntline backfill PACK`` and the scheduled runs' catch-up
skip; every member that succeeded adds it to its own record too (``<root>/<member>/coverage``,
as it would alone). So a member that keeps failing (a broken rule) does not make every later
run fetch its window again and catch up a growing gap for all members: its own gaps show in
``huntline coverage MEMBER``, and ``huntline backfill MEMBER`` fills them once it is mended.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow.compute as pc

from huntline.book.steps import GetStep
from huntline.compile import compile_book, resolve_windows
from huntline.errors import CompileError, HuntlineError
from huntline.fetch.sources.pattern import with_window
from huntline.fetch.sources.reach import source_reach
from huntline.packs.cover import Cover, covering_fetch
from huntline.packs.model import Member, Pack
from huntline.patterns import compile_pattern
from huntline.schedule.coverage import record_coverage
from huntline.steps import finish
from huntline.steps.context import RunContext, StepOutput
from huntline.steps.finish import AlertOutput
from huntline.steps.get import fetch_step
from huntline.steps.given_tables import alert_table, run_with_tables
from huntline.storage import ObjectStore, TableRef, key_of, open_store
from huntline.tables import parquet_bytes, parquet_table
from huntline.window import Window

__all__ = [
    "MemberResult",
    "MemberRun",
    "PackReport",
    "Shared",
    "fetch_shared",
    "pack_cover",
    "pack_window",
    "run_member",
    "run_pack",
]


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
    cover: Cover
    members: tuple[MemberResult, ...] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "run_id": self.run_id,
            "window": {
                "start": self.window.start.isoformat(),
                "stop": self.window.stop.isoformat(),
            },
            "fetched": {
                "uri": self.fetched.uri,
                "rows": self.fetched.rows,
                "cover": self.cover.kind,
                "queries": len(self.cover.queries),
                "why": self.cover.reason,
            },
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
    window = pack_window(pack, now, start, stop)
    run_id = run_id or uuid.uuid4().hex
    store = open_store(storage)
    context = RunContext(
        storage=store.root, hunt_id=spec.pack, run_date=window.stop.date().isoformat(),
        flow_run_id=run_id, dry_run=dry_run, source=source,
    )  # fmt: skip
    cover = pack_cover(pack, source)
    began = time.perf_counter()
    fetched, shared = fetch_shared(pack, context, window, cover)
    fetch_seconds = time.perf_counter() - began
    failed = cover.failed or (None,) * len(pack.members)
    narrowed = cover.narrowed or (None,) * len(pack.members)
    members = tuple(
        _unmapped(member, error)
        if error is not None
        else _run_member(store, member, shared, window, run_id, dry_run, now, narrowed=part)
        for member, error, part in zip(pack.members, failed, narrowed, strict=True)
    )
    if not dry_run:
        record_coverage(store, spec.pack, window)
        for member in members:
            if not member.error:
                record_coverage(store, member.hunt_id, window)
    return PackReport(spec.pack, run_id, window, fetched, fetch_seconds, cover, members)


def fetch_shared(
    pack: Pack, context: RunContext, window: Window, cover: Cover
) -> tuple[TableRef, Shared]:
    """The pack's one fetch (``cover``, over ``window``, from ``context.source`` or the pack's
    source), stored under ``context``, and its rows for the members."""
    spec = pack.spec
    step = GetStep.model_validate(
        {"get": spec.entity.replace("-", "_"), "entity": spec.entity, "from": spec.source,
         "where": cover.where}
    )  # fmt: skip
    fetched = fetch_step(context, "00_get", step, window, cover.queries).tables[step.get]
    store = open_store(context.storage)
    table = parquet_table(store.get_bytes(key_of(store, fetched.uri)))
    return fetched, Shared(store, table, context.key("00_get", f"{step.get}.none.parquet"))


def pack_cover(pack: Pack, source: str | None = None) -> Cover:
    """The covering fetch of ``pack`` (from ``source`` instead of the pack's, if given), with
    what a stix-shifter source maps of each member (:mod:`.cover`)."""
    members = [(str(member.path), member.get.where) for member in pack.members]
    source = source or pack.spec.source
    return covering_fetch(pack.spec.entity, source, members, source_reach(source))


def pack_window(
    pack: Pack, now: datetime, start: datetime | None = None, stop: datetime | None = None
) -> Window:
    """The window a run of ``pack`` at ``now`` covers: ``start``/``stop`` if given (both or
    neither, as for a book), else the pack's ``window:``.

    Raises:
        CompileError: Only one of ``start`` and ``stop`` is given.
    """
    if (start is None) != (stop is None):
        raise CompileError("give both --start and --stop, or neither")
    if start is not None and stop is not None:
        return Window(start, stop)
    return pack.spec.window.resolve(now)


class Shared:
    """The fetched table, and one empty table of its columns for every member that selects
    no row (most of a large pack, each run): written once, when first needed, instead of an
    empty object per member."""

    def __init__(self, store: ObjectStore, table: Any, empty_key: str) -> None:
        self.store, self.table, self._empty_key = store, table, empty_key
        self._empty: TableRef | None = None

    def empty(self) -> TableRef:
        if self._empty is None:
            self._empty = _put(self.store, self._empty_key, self.table.slice(0, 0))
        return self._empty


def _unmapped(member: Member, error: str) -> MemberResult:
    """A member whose source maps none of its pattern: failed, as a fetch of it alone fails."""
    return MemberResult(str(member.book.id), member.book.title, error=error)


def _run_member(
    store: ObjectStore,
    member: Member,
    shared: Shared,
    window: Window,
    run_id: str,
    dry_run: bool,
    now: datetime,
    *,
    narrowed: str | None = None,
) -> MemberResult:
    book = member.book
    began = time.perf_counter()
    try:
        ran = run_member(store, member, shared, window, run_id, dry_run, now, narrowed=narrowed)
    except HuntlineError as error:
        seconds = time.perf_counter() - began
        return MemberResult(str(book.id), book.title, seconds=seconds, error=str(error))
    ids = tuple(alert.alert_id for alert in ran.alerts.alerts) if ran.alerts else ()
    return MemberResult(
        str(book.id), book.title, rows=ran.rows, alerts=ids,
        seconds=time.perf_counter() - began, manifest=ran.manifest,
    )  # fmt: skip


@dataclass(frozen=True)
class MemberRun:
    """One member over the shared rows: its alert step's output (None without an alert
    section), the rows its own pattern selected, and its run manifest."""

    alerts: AlertOutput | None
    rows: int
    manifest: str


def run_member(
    store: ObjectStore,
    member: Member,
    shared: Shared,
    window: Window,
    run_id: str,
    dry_run: bool,
    now: datetime,
    *,
    narrowed: str | None = None,
) -> MemberRun:
    """Run one member over the pack's rows as it would run alone: its own pattern selects its
    rows, then its plan's other steps, its alert section and its manifest, under its own id
    (what a pack run and ``huntline test PACK`` do). ``narrowed`` is the part of the member's
    pattern its source keeps, when it keeps only part (:attr:`.cover.Cover.narrowed`): the
    rows must match it too, as only those are fetched when the member runs alone.

    Raises:
        HuntlineError: The member failed (its error says why).
    """
    book = member.book
    context = RunContext(
        storage=store.root, hunt_id=str(book.id), run_date=window.stop.date().isoformat(),
        flow_run_id=run_id, dry_run=dry_run,
    )  # fmt: skip
    plan = compile_book(book)
    windows = resolve_windows(plan, now, window.start, window.stop)
    selected: dict[str, Any] = {}  # each get's rows, by the uri of its table

    def table_for(step_id: str, step: GetStep) -> TableRef:
        table = shared.table
        mask = compile_pattern(step.where).table_mask(table, step.entity)
        if narrowed is not None and step.where == member.get.where:
            mask = pc.and_(mask, compile_pattern(narrowed).table_mask(table, step.entity))
        kept = table.filter(mask) if pc.any(mask).as_py() else table.slice(0, 0)
        ref = (
            _put(store, context.key(step_id, f"{step.get}.parquet"), kept)
            if kept.num_rows
            else shared.empty()
        )
        selected[ref.uri] = kept
        return ref

    outputs = run_with_tables(plan, context, windows, table_for)
    for planned in plan.steps:  # each get's query line, as its own fetch records it
        if isinstance(planned.step, GetStep):
            got = outputs[planned.id]
            outputs[planned.id] = _as_fetched(got, planned.step, windows[planned.id])
    alerts = None
    if book.alert is not None:
        table = alert_table(plan, outputs, book)
        held = selected.get(table.uri)  # the get's own rows: not read back from storage
        rows = None if held is None else held.to_pandas()
        alerts = finish.alert_step(context, book, table, now, window, rows=rows)
    manifest = finish.write_manifest(
        context, book=member.loaded, windows=windows,
        steps=list(outputs.values()), alerts=alerts, status="completed",
    )  # fmt: skip
    return MemberRun(alerts, sum(t.num_rows for t in selected.values()), manifest)


def _as_fetched(output: StepOutput, step: GetStep, window: Window) -> StepOutput:
    """A member's get output with the query line its own fetch records, so that ``huntline
    replay`` of the member judges the window as one of its own runs: its rows are its pattern
    selected from the pack's covering fetch, which is what that query returns."""
    sources = ", ".join(step.sources)
    pattern = with_window(step.where, window)
    query = f"{step.entity} FROM {sources} WHERE {pattern} (selected from the pack's fetch)"
    return output.model_copy(update={"query": query, "source": sources})


def _put(store: ObjectStore, key: str, table: Any) -> TableRef:
    data = parquet_bytes(table)
    store.put_bytes(key, data)
    return TableRef(
        uri=store.uri(key), rows=table.num_rows, columns=table.column_names,
        sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
