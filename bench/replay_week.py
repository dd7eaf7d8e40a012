"""``huntline replay`` over a week of hourly runs: 168 stored windows of 10,000 processes each.

::

    python bench/replay_week.py [--windows 168] [--rows 10000]

Set-up (not timed): one stixgen bundle flattened to a process table of ``--rows`` rows, stored
as the ``get`` table of ``--windows`` hourly runs of a book that fetches every process and
alerts on ``powershell.exe`` (each run's alerts computed by the real alert step, dedup by name
and pid, so "then" is real), with a manifest each, in a ``file://`` store. Timed: replaying an
edited book (``where: [process:name = 'powershell.exe' AND process:pid > 2000]``, so each
window selects rows from the stored every-process table with the local evaluator) over the
whole week, in this process, wall and CPU time. The goal (issue 25) is 60 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import stixgen

BOOK = """\
id: 6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d
title: Week of shells
window: {{last: 1h}}
steps:
  - get: procs
    entity: process
    from: file://{bundle}
{where}alert:
  on: procs
  when: name == 'powershell.exe'
  severity: high
  title: "powershell {{pid}}"
  dedup: [name, pid]
"""


def store_week(folder: Path, windows: int, rows: int) -> tuple[Path, str, datetime]:
    from huntline.book.observables import every_entity_pattern
    from huntline.compile import prepare_hunt
    from huntline.fetch.sources.bundle import read_observed_data
    from huntline.fetch.sources.pattern import with_window
    from huntline.fetch.tables.flatten import flatten_arrow
    from huntline.steps import finish
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import open_store
    from huntline.tables import write_table

    bundle = folder / "bundle.json"
    stixgen.write_bundle(bundle, rows, seed=11, match_fraction=0.002)
    table = flatten_arrow(read_observed_data(bundle), "process").slice(0, rows).to_pandas()
    book = folder / "old.yaml"
    book.write_text(BOOK.format(bundle=bundle, where=""))
    storage = (folder / "store").as_uri()
    store = open_store(storage)
    first = datetime(2026, 11, 30, tzinfo=UTC)
    for hour in range(windows):
        start, stop = first + timedelta(hours=hour), first + timedelta(hours=hour + 1)
        hunt = prepare_hunt(book, stop, start, stop)
        run = f"run{hour:03d}"
        context = RunContext(
            storage=storage, hunt_id=str(hunt.book.id), run_date=stop.date().isoformat(),
            flow_run_id=run, dry_run=True,
        )  # fmt: skip
        ref = write_table(store, context.key("00_get", "procs.parquet"), table)
        query = with_window(every_entity_pattern("process"), hunt.windows["00_get"])
        output = StepOutput(
            step_id="00_get", tables={"procs": ref}, source=f"file://{bundle}",
            query=f"process FROM file://{bundle} WHERE {query} (1 pages)",
        )  # fmt: skip
        alerts = finish.alert_step(context, hunt.book, ref, stop, hunt.windows["00_get"])
        finish.write_manifest(
            context, book=hunt.loaded, windows=hunt.windows,
            steps=[output], alerts=alerts, status="completed",
        )  # fmt: skip
    return bundle, storage, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=168)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    from huntline.replay import replay

    with tempfile.TemporaryDirectory(prefix="replay-week-") as name:
        folder = Path(name)
        started = time.perf_counter()
        bundle, storage, first = store_week(folder, args.windows, args.rows)
        print(f"set-up: {args.windows} stored runs in {time.perf_counter() - started:.1f} s")
        where = "    where: \"[process:name = 'powershell.exe' AND process:pid > 2000]\"\n"
        edited = folder / "new.yaml"
        edited.write_text(BOOK.format(bundle=bundle, where=where))
        wall, cpu = time.perf_counter(), time.process_time()
        report = replay(edited, storage, first, first + timedelta(hours=args.windows))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        summary = report.record()
        print(
            f"replay: {len(report.windows)} windows of {args.rows} rows in {wall:.1f} s wall, "
            f"{cpu:.1f} s CPU ({len(report.windows) / wall:.1f} windows/s); replayed "
            f"{summary['replayed']}, not replayable {summary['not_replayable']}; "
            f"alerts new {summary['new']}, gone {summary['gone']}, unchanged "
            f"{summary['unchanged']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
