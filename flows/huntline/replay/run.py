"""Replaying a book over stored runs: each covered window re-run in a scratch store.

For every completed or failed run of the book's hunt whose window overlaps ``[start, stop)``:
the book is compiled for that run's window; each ``get`` step takes the stored table
(:mod:`.covers` says whether it may, and selects rows with the edited pattern where the stored
fetch was every entity of the type); every other step (``apply``, ``expect``, ``filter``) runs
as in a real run, in a temporary ``file://`` store; the alert section runs as a dry run
against that scratch store's empty ledger, so nothing is delivered and the hunt's own ledger is
neither read nor written. The alerts raised now are compared with those the run stored, by
alert id (the dedup key, stable across runs): new, gone, unchanged. A book whose ``dedup:``
changed therefore shows every alert as gone and new.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from huntline.book.steps import GetStep
from huntline.compile import Plan, compile_book, resolve_windows
from huntline.errors import ReplayError
from huntline.manifest import RunManifest
from huntline.patterns import compile_pattern
from huntline.replay.covers import Coverage, coverage
from huntline.run_history import manifest_keys, read_manifest
from huntline.steps import finish
from huntline.steps.book_checks import load_hunt
from huntline.steps.context import RunContext
from huntline.steps.given_tables import alert_table, run_with_tables
from huntline.storage import ObjectStore, TableRef, key_of, open_store
from huntline.tables import parquet_bytes, parquet_table, read_table
from huntline.window import Window

__all__ = ["ReplayReport", "WindowReplay", "replay"]


@dataclass(frozen=True)
class WindowReplay:
    """One stored run's window: the alerts then and now (ids), or why it cannot be judged."""

    run_id: str
    start: datetime
    stop: datetime
    reason: str | None = None
    then: tuple[str, ...] = ()
    now: tuple[str, ...] = ()
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def replayable(self) -> bool:
        return self.reason is None

    @property
    def new(self) -> list[str]:
        return [key for key in self.now if key not in set(self.then)]

    @property
    def gone(self) -> list[str]:
        return [key for key in self.then if key not in set(self.now)]

    @property
    def unchanged(self) -> list[str]:
        return [key for key in self.now if key in set(self.then)]

    def record(self) -> dict[str, Any]:
        """As ``--json`` prints it."""
        base: dict[str, Any] = {
            "run_id": self.run_id,
            "start": self.start.isoformat(),
            "stop": self.stop.isoformat(),
            "replayable": self.replayable,
        }
        if not self.replayable:
            return base | {"reason": self.reason}
        named = [{"alert_id": key, "title": self.titles.get(key, "")} for key in self.new]
        gone = [{"alert_id": key, "title": self.titles.get(key, "")} for key in self.gone]
        return base | {
            "then": len(self.then),
            "now": len(self.now),
            "new": named,
            "gone": gone,
            "unchanged": len(self.unchanged),
        }


@dataclass(frozen=True)
class ReplayReport:
    """Every stored window of the range, in window order."""

    hunt_id: str
    book: str
    start: datetime
    stop: datetime
    windows: tuple[WindowReplay, ...]

    def record(self) -> dict[str, Any]:
        replayed = [w for w in self.windows if w.replayable]
        return {
            "hunt_id": self.hunt_id,
            "book": self.book,
            "start": self.start.isoformat(),
            "stop": self.stop.isoformat(),
            "replayed": len(replayed),
            "not_replayable": len(self.windows) - len(replayed),
            "new": sum(len(w.new) for w in replayed),
            "gone": sum(len(w.gone) for w in replayed),
            "unchanged": sum(len(w.unchanged) for w in replayed),
            "windows": [w.record() for w in self.windows],
        }


def replay(
    book_path: str | Path, storage: str | None, start: datetime, stop: datetime
) -> ReplayReport:
    """Replay the book at ``book_path`` over the runs stored in ``storage`` whose window overlaps
    ``[start, stop)``; see the module docstring.

    Raises:
        BookError: The book is invalid.
        ReplayError: The range is reversed, or no run of the hunt overlaps it.
    """
    if start >= stop:
        raise ReplayError(f"the replay range is empty or reversed: {start} .. {stop}")
    book = load_hunt(book_path)
    if book.alert is None:
        raise ReplayError(f"{book_path}: the book has no alert section, so nothing to compare")
    plan = compile_book(book)
    store = open_store(storage)
    runs = list(_runs_in(store, str(book.id), start, stop))
    if not runs:
        raise ReplayError(
            f"no stored run of hunt {book.id} ({book.title}) has a window within "
            f"{start.isoformat()} .. {stop.isoformat()} in {store.root}",
            hint="list the stored runs with `huntline runs list BOOK`",
        )
    windows = tuple(_replay_run(store, plan, manifest, window) for manifest, window in runs)
    return ReplayReport(str(book.id), str(book_path), start, stop, windows)


def _runs_in(
    store: ObjectStore, hunt_id: str, start: datetime, stop: datetime
) -> Iterator[tuple[RunManifest, Window]]:
    found = []
    for key in manifest_keys(store, hunt_id):
        manifest = read_manifest(store, key)
        if not manifest.windows:
            continue
        first = min(info.start for info in manifest.windows.values())
        last = max(info.stop for info in manifest.windows.values())
        if first < stop and last > start:
            found.append((manifest, Window(first, last)))
    yield from sorted(found, key=lambda pair: (pair[1].start, pair[0].flow_run_id))


def _replay_run(
    store: ObjectStore, plan: Plan, manifest: RunManifest, window: Window
) -> WindowReplay:
    book = plan.book
    assert book.alert is not None
    base = WindowReplay(manifest.flow_run_id, window.start, window.stop)
    windows = resolve_windows(plan, window.stop, window.start, window.stop)
    then = _stored_alerts(store, manifest)
    with tempfile.TemporaryDirectory(prefix="huntline-replay-") as folder:
        scratch = open_store(Path(folder).as_uri())
        context = RunContext(
            storage=scratch.root,
            hunt_id=str(book.id),
            run_date=window.stop.date().isoformat(),
            flow_run_id=f"replay-{manifest.flow_run_id}",
            dry_run=True,
        )

        def table_for(step_id: str, step: GetStep) -> TableRef:
            cover = coverage(step, windows[step_id], manifest)
            if cover.reason is not None:
                raise _NotCovered(cover.reason)
            key = context.key(step_id, f"{step.get}.parquet")
            return _stored_table(store, scratch, key, cover, step.entity)

        try:
            outputs = run_with_tables(plan, context, windows, table_for)
        except _NotCovered as refused:
            return _refused(base, then, str(refused))
        table = alert_table(plan, outputs, book)
        raised = finish.alert_step(context, book, table, window.stop, window)
    now = tuple(alert.alert_id for alert in raised.alerts)
    titles = dict(then[1]) | {alert.alert_id: alert.title for alert in raised.alerts}
    return WindowReplay(base.run_id, base.start, base.stop, None, then[0], now, titles)


def _refused(
    base: WindowReplay, then: tuple[tuple[str, ...], dict[str, str]], reason: str
) -> WindowReplay:
    return WindowReplay(base.run_id, base.start, base.stop, reason, then[0], (), then[1])


class _NotCovered(Exception):
    """A get step of the book is not covered by the stored run (its reason)."""


def _stored_table(
    store: ObjectStore, scratch: ObjectStore, key: str, cover: Coverage, entity: str
) -> TableRef:
    """The stored table in the scratch store, its rows selected by ``cover.select`` if set."""
    assert cover.table is not None
    data = store.get_bytes(key_of(store, cover.table.uri))
    if cover.select is None:
        scratch.put_bytes(key, data)
        return cover.table.model_copy(update={"uri": scratch.uri(key)})
    table = parquet_table(data)
    kept = table.filter(compile_pattern(cover.select).table_mask(table, entity))
    selected = parquet_bytes(kept)  # small: one window's rows, written in one piece
    scratch.put_bytes(key, selected)
    return TableRef(
        uri=scratch.uri(key),
        rows=kept.num_rows,
        columns=kept.column_names,
        sha256=hashlib.sha256(selected).hexdigest(),
    )


def _stored_alerts(
    store: ObjectStore, manifest: RunManifest
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The alert ids (and titles) the run raised, as it stored them."""
    summary = manifest.alerts
    if summary is None or summary.table is None or not summary.count:
        return (), {}
    frame = read_table(store, summary.table)
    ids = tuple(str(key) for key in frame["alert_id"])
    return ids, dict(zip(ids, (str(t) for t in frame["title"]), strict=True))
