"""Run the test cases of a pack's members the way the pack runs them: one fetch, then each
member over its rows.

``huntline test`` runs a lone book's case as a Prefect flow run of its own, about 1.5 s of
overhead a case: 2,200 generated cases of a Sigma pack would take close to an hour. A pack's
members share one fetch in production (:mod:`huntline.packs.run`), so their cases do too:

1. every case's sample data becomes its bundle as for a lone book
   (:func:`huntline.booktest.sample.write_bundle`), moved in time, all its observations by the
   same offset, to a slot of its own (slots an hour apart, never overlapping);
2. the bundles, joined, are fetched once through the pack's own fetch
   (:func:`huntline.packs.run.fetch_shared`: the ``file://`` source, the STIX pattern of every
   entity, the flattening a production run does);
3. each case's rows (those observed inside its slot) go through
   :func:`huntline.packs.run.run_member`, the member's real path in a pack run: its own pattern
   selects its rows, its plan's other steps run, then its alert section (condition, threshold,
   group-by, dedup), as a dry run, over the case's window. A member that only alerts on each
   row (one ``get``, no group-by, threshold or dedup columns: every generated Sigma book) runs
   once over all its cases' rows instead, and each alert goes back to the case of its entity's
   slot: the same alerts, half the runs (a run costs about 40 ms: storage, ledger, manifest);
4. what it raised is compared with the case as for a lone book
   (:func:`huntline.booktest.cases.compare`).

What this path leaves out, a member alone does not: analytics run as the book names them (no
``--runner python``), and a case with ``indicators`` (a retro-hunt) runs alone through its flow.
Two cases never share an entity: each slot's observations carry their own times, which enter
the entity's identity.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from huntline.alert import AlertRecord
from huntline.booktest.cases import CaseResult, compare, run_case
from huntline.booktest.sample import PAD, run_window, write_bundle
from huntline.booktest.spec import Case, LoadedTests
from huntline.errors import HuntlineError
from huntline.packs.model import Member, Pack
from huntline.packs.run import Shared, fetch_shared, pack_cover, run_member
from huntline.scratch import process_dir
from huntline.steps.context import RunContext
from huntline.storage import ObjectStore, open_store
from huntline.window import Window

__all__ = ["by_pack", "run_pack_cases"]

#: Where the first slot starts, and how far apart slots are (a case spanning more runs alone).
BASE = datetime(2024, 1, 1, tzinfo=UTC)
SLOT = timedelta(hours=1)


@dataclass(frozen=True)
class _Slotted:
    """A case placed in its slot: its member, its window there, the offset it was moved by."""

    member: Member
    tests: LoadedTests
    case: Case
    window: Window


def run_pack_cases(pack: Pack, files: list[LoadedTests], python: bool = False) -> list[CaseResult]:
    """The results of every case in ``files`` (tests files of ``pack``'s members), through the
    pack's one fetch; see the module docstring."""
    members = {member.path.resolve(): member for member in pack.members}
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="pack-test-", dir=process_dir()) as scratch:
        workdir = Path(scratch)
        slotted: list[_Slotted] = []
        objects: list[dict[str, Any]] = []
        for tests in files:
            member = members[tests.book.resolve()]
            for case in tests.tests.cases:
                if case.indicators is not None:
                    results.append(run_case(tests, case, python))
                    continue
                try:
                    placed, moved = _place(member, tests, case, len(slotted), workdir)
                except HuntlineError as problem:
                    results.append(_result(tests, case, [f"+ cannot prepare the case: {problem}"]))
                    continue
                slotted.append(placed)
                objects += moved
        if slotted:
            results += _run_slots(pack, slotted, objects, workdir)
    return results


def by_pack(
    packs: list[Pack], files: list[LoadedTests]
) -> tuple[list[tuple[Pack, list[LoadedTests]]], list[LoadedTests]]:
    """The tests files of each pack's members (a book in two packs is tested in the first),
    and the rest, whose books run alone."""
    owner: dict[Path, int] = {}
    for number, pack in enumerate(packs):
        for member in pack.members:
            owner.setdefault(member.path.resolve(), number)
    grouped: list[list[LoadedTests]] = [[] for _ in packs]
    alone: list[LoadedTests] = []
    for tests in files:
        index = owner.get(tests.book.resolve())
        (alone if index is None else grouped[index]).append(tests)
    return [(pack, group) for pack, group in zip(packs, grouped, strict=True) if group], alone


def _place(
    member: Member, tests: LoadedTests, case: Case, index: int, workdir: Path
) -> tuple[_Slotted, list[dict[str, Any]]]:
    """Write the case's bundle as for a lone book, then move it into slot ``index``."""
    variable = member.get.get
    unknown = sorted(set(case.data) - {variable})
    if unknown:
        raise HuntlineError(
            f"data for {', '.join(unknown)}, which no get step sets (get steps set: {variable})"
        )
    path = workdir / "case.json"
    span = write_bundle(tests, case, case.data.get(variable), member.get.entity, path)
    start, stop = run_window([span], case) if span else (case.time - PAD, case.time + PAD)
    if stop - start > SLOT:
        raise HuntlineError(f"its data spans {stop - start}; a pack runs cases of up to {SLOT}")
    offset = BASE + index * SLOT - start
    bundle = json.loads(path.read_text(encoding="utf-8"))
    moved = [_moved(item, offset) for item in bundle.get("objects", [])]
    return _Slotted(member, tests, case, Window(start + offset, stop + offset)), moved


def _moved(item: dict[str, Any], offset: timedelta) -> dict[str, Any]:
    if item.get("type") != "observed-data":
        return item
    stamps = ("first_observed", "last_observed", "created", "modified")
    moved = {key: _stamp(pd.Timestamp(item[key]) + offset) for key in stamps if key in item}
    return {**item, **moved, "id": f"observed-data--{uuid.uuid4()}"}


def _stamp(moment: pd.Timestamp) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.%f"))[:-3] + "Z"


def _run_slots(
    pack: Pack, slotted: list[_Slotted], objects: list[dict[str, Any]], workdir: Path
) -> list[CaseResult]:
    bundle = workdir / "pack.json"
    bundle.write_text(
        json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}),
        encoding="utf-8",
    )
    store = open_store(f"file://{workdir / 'store'}")
    everything = Window(BASE - SLOT, BASE + (len(slotted) + 1) * SLOT)
    context = RunContext(
        storage=store.root, hunt_id=pack.spec.pack, run_date=BASE.date().isoformat(),
        flow_run_id=uuid.uuid4().hex, dry_run=True, source=f"file://{bundle}",
    )  # fmt: skip
    _, fetched = fetch_shared(pack, context, everything, pack_cover(pack, context.source))
    shared = fetched.table
    slots = _slot_rows(shared)
    ids = shared.column("id").to_pylist() if shared.num_rows else []
    slot_of = {ids[row]: index for index, rows in slots.items() for row in rows}
    by_member: dict[Path, list[int]] = {}
    for index, placed in enumerate(slotted):
        by_member.setdefault(placed.member.path, []).append(index)
    outcomes: dict[int, tuple[list[AlertRecord], str | None, float]] = {}
    now = datetime.now(UTC)
    for indices in by_member.values():
        member = slotted[indices[0]].member
        if len(indices) > 1 and _batchable(member, [slotted[i].case for i in indices]):
            batched = _run_batched(store, slotted, indices, shared, slots, slot_of, now)
            if batched is not None:
                outcomes.update(batched)
                continue
        for index in indices:  # one run per case: its rows, its window
            outcomes[index] = _run_one(store, slotted[index], shared, slots.get(index, []), now)
    results = []
    for index, placed in enumerate(slotted):
        alerts, failure, seconds = outcomes[index]
        differences = compare(placed.case.expect, alerts, failure)
        results.append(_result(placed.tests, placed.case, differences, alerts, seconds))
    return results


def _batchable(member: Member, cases: list[Case]) -> bool:
    """Whether one run over all the member's cases raises, per case, what a run per case
    does: only a ``get`` then an alert on each row (no group-by, threshold or dedup
    columns, so each alert is one row's entity, whose slot names its case), and no case
    expecting the run to fail."""
    alert = member.book.alert
    return (
        alert is not None
        and len(member.book.steps) == 1
        and not alert.group_by
        and alert.threshold is None
        and not alert.dedup
        and all(case.expect.error is None for case in cases)
    )


def _run_batched(
    store: ObjectStore,
    slotted: list[_Slotted],
    indices: list[int],
    shared: pa.Table,
    slots: dict[int, list[int]],
    slot_of: dict[str, int],
    now: datetime,
) -> dict[int, tuple[list[AlertRecord], str | None, float]] | None:
    """The member once over every case's rows, its alerts handed back to their cases by the
    slot of their entity; None when the run failed (each case then runs alone)."""
    started = time.perf_counter()
    rows = shared.take(pa.array([r for i in indices for r in slots.get(i, [])], type=pa.int64()))
    window = Window(
        min(slotted[i].window.start for i in indices), max(slotted[i].window.stop for i in indices)
    )
    try:
        ran = run_member(
            store, slotted[indices[0]].member, _rows(store, rows), window, _run_id(), True, now
        )
    except HuntlineError:
        return None
    found: dict[int, list[AlertRecord]] = {index: [] for index in indices}
    for alert in ran.alerts.alerts if ran.alerts else []:
        if alert.entity_id not in slot_of:  # rows of one entity folded: no slot to name
            return None
        found[slot_of[alert.entity_id]].append(alert)
    seconds = (time.perf_counter() - started) / len(indices)
    return {index: (alerts, None, seconds) for index, alerts in found.items()}


def _run_one(
    store: ObjectStore, placed: _Slotted, shared: pa.Table, rows: list[int], now: datetime
) -> tuple[list[AlertRecord], str | None, float]:
    started = time.perf_counter()
    table = shared.take(pa.array(rows, type=pa.int64()))
    try:
        ran = run_member(
            store, placed.member, _rows(store, table), placed.window, _run_id(), True, now
        )
    except HuntlineError as error:
        return [], error.message, time.perf_counter() - started
    alerts = ran.alerts.alerts if ran.alerts else []
    return alerts, None, time.perf_counter() - started


def _rows(store: ObjectStore, table: pa.Table) -> Shared:
    """A case's rows as a pack run hands the fetch to its members."""
    return Shared(store, table, f"{_run_id()}/none.parquet")


def _run_id() -> str:
    return uuid.uuid4().hex


def _slot_rows(shared: pa.Table) -> dict[int, list[int]]:
    """Row numbers by slot: the slot a row's first and last observation both fall in."""
    if shared.num_rows == 0:
        return {}
    first = pd.to_datetime(shared.column("first_observed").to_pandas(), utc=True, format="ISO8601")
    last = pd.to_datetime(shared.column("last_observed").to_pandas(), utc=True, format="ISO8601")
    base, slot = pd.Timestamp(BASE), pd.Timedelta(SLOT)
    starts, stops = (first - base) // slot, (last - base) // slot
    found: dict[int, list[int]] = {}
    for row, (start, stop) in enumerate(zip(starts, stops, strict=True)):
        if start == stop:
            found.setdefault(int(start), []).append(row)
    return found


def _result(
    tests: LoadedTests,
    case: Case,
    differences: list[str],
    alerts: list[Any] | None = None,
    seconds: float = 0.0,
) -> CaseResult:
    return CaseResult(
        tests_file=str(tests.path),
        book=str(tests.book),
        case=case.name,
        passed=not differences,
        seconds=round(seconds, 3),
        differences=differences,
        alerts=[alert.title for alert in alerts or []],
    )
