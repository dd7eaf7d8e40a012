"""Benchmark: a week of hourly hunts over overlapping windows, and the ledger at 100,000 keys.

::

    python bench/alert_ledger.py                      # the week, then 100k keys (~1 min)
    python bench/alert_ledger.py --days 7 --big 100000 --repeat 5

**The week.** 168 hourly runs, each over the 2 hours before it, so every event is seen by two
runs. A few entities are suspicious all week (``--recurring``, each active in a given hour with
probability ``--activity``), and ``--new-per-day`` new ones turn up each day, each active for a
few hours. Each run builds its alerts through the real rules (``alert_groups``,
``build_alerts``) and runs the real ledger section (:func:`huntline.alert.section.run_section`)
on a file ledger, delivering to a ``jsonl://`` file. Side by side:

- ``no ledger``: what huntline did before the ledger, a notification for every alert of every
  run (the sum of the alerts raised);
- ``suppress_for S``: notifications actually sent with the ledger and that suppression.

It reports the alerts raised, the notifications sent, the ledger's size and keys after the week,
and the median ledger section time per run (read + claim write + delivery to a local file +
record write).

**100,000 keys.** A ledger of ``--big`` entries (alert JSON of ~900 bytes each, with a random
hash and host so it compresses like real alerts) is written, then
``--repeat`` runs each raise 50 alerts (25 already in the ledger, 25 new) through
``run_section``. Reported: the ledger's size, a plain read, a plain write (parse + serialise
the whole ledger), and the whole section per run (two conditional read-modify-writes).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from huntline.alert import alert_groups, build_alerts, matching_rows
from huntline.alert.alerts import AlertRecord, RunInfo
from huntline.alert.delivery import RetryPolicy
from huntline.alert.ledger import Ledger, LedgerEntry, ledger_bytes, parse_ledger
from huntline.alert.ledger_store import ledger_store
from huntline.alert.section import run_section
from huntline.book import parse_book
from huntline.book.model import HuntBook
from huntline.storage import FileStore, open_store

START = datetime(2024, 6, 3, tzinfo=UTC)
BOOK = """id: 2a8c7f4e-5b1d-4e6a-9c3f-0d1e2f3a4b5c
title: Bench
steps:
  - get: procs
    entity: process
    from: edr
    where: "[process:pid > 0]"
alert:
  on: procs
  when: x_score >= 2
  title: "{name} on {host} (score {x_score})"
  group_by: [host, name]
  notify: ["jsonl://SINK"]
  suppress_for: SUPPRESS
"""


def book(sink: Path, suppress: str) -> HuntBook:
    return parse_book(BOOK.replace("SINK", str(sink)).replace("SUPPRESS", suppress))


def week_events(days: int, recurring: int, new_per_day: int, activity: float, seed: int):  # type: ignore[no-untyped-def]
    """(hour, host, name) of every suspicious event of the week."""
    rng = random.Random(seed)
    events = []
    hours = days * 24
    for entity in range(recurring):
        for hour in range(hours):
            if rng.random() < activity:
                events.append((hour, f"host-{entity:03d}", "mimikatz.exe"))
    for day in range(days):
        for index in range(new_per_day):
            first = day * 24 + rng.randrange(24)
            for hour in range(first, min(hours, first + rng.randrange(1, 6))):
                events.append((hour, f"new-{day}-{index:03d}", "powershell.exe"))
    return events


def frame(events, hour: int) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The processes a run at ``hour`` sees: its window is the two hours before it."""
    rows = [e for e in events if hour - 2 <= e[0] < hour]
    return pd.DataFrame(
        {
            "id": [f"process--{host}-{name}-{h}" for h, host, name in rows],
            "type": ["process"] * len(rows),
            "name": [name for _, _, name in rows],
            "host": [host for _, host, _ in rows],
            "x_score": [3] * len(rows),
            "last_observed": [START + timedelta(hours=h, minutes=30) for h, _, _ in rows],
        }
    )


def raise_alerts(hunt: HuntBook, table: pd.DataFrame, stop: datetime) -> list[AlertRecord]:
    assert hunt.alert is not None
    info = RunInfo(
        flow_run_id=f"run-{stop:%m%d%H}",
        flow_run_url=None,
        window_start=stop - timedelta(hours=2),
        window_stop=stop,
        evidence_uri="file:///bench/evidence.parquet",
        raised_at=stop,
    )
    if table.empty:
        return []
    return build_alerts(hunt, alert_groups(matching_rows(table, hunt.alert), hunt.alert), info)


def week(args: argparse.Namespace, suppress: str, work: Path) -> dict[str, object]:
    sink = work / f"sent-{suppress}.jsonl"
    hunt = book(sink, suppress)
    assert hunt.alert is not None
    store = ledger_store(open_store(f"file://{work}/store-{suppress}"), str(hunt.id))
    events = week_events(args.days, args.recurring, args.new_per_day, args.activity, args.seed)
    raised = sent = 0
    times = []
    for hour in range(1, args.days * 24 + 1):
        stop = START + timedelta(hours=hour)
        records = raise_alerts(hunt, frame(events, hour), stop)
        raised += len(records)
        began = time.perf_counter()
        result = run_section(
            store,
            hunt.alert,
            records,
            now=stop,
            run_id=f"r{hour}",
            hunt_title="Bench",
            dry_run=False,
            retry=RetryPolicy(tries=1, backoff=0),
        )
        times.append(time.perf_counter() - began)
        sent += len(result.sent)
    assert isinstance(store.store, FileStore)
    ledger = store.read()[0]
    return {
        "raised": raised,
        "sent": sent,
        "messages": sum(1 for _ in sink.open()) if sink.exists() else 0,
        "keys": len(ledger),
        "bytes": store.store.path(store.key).stat().st_size,
        "section_ms": statistics.median(times) * 1000,
    }


def big_ledger(size: int) -> Ledger:
    """A ledger of ``size`` delivered entries with realistic alert JSON."""
    template = AlertRecord(
        alert_id="k",
        hunt_id="2a8c7f4e-5b1d-4e6a-9c3f-0d1e2f3a4b5c",
        hunt_title="Bench",
        title="mimikatz.exe on host-000 (score 3)",
        severity="high",
        tags=["attack.t1003.001"],
        entity_id=None,
        entity_type="process",
        fields={"name": "mimikatz.exe", "x_score": 3},
        evidence_uri="file:///store/hunt/2024-06-03/run/alert/evidence.parquet",
        flow_run_id="0d3c1e7e-0000-0000-0000-000000000000",
        raised_at=START,
        window_start=START,
        window_stop=START,
        group={"host": "host-000", "name": "x"},
        count=3,
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/0d3c1e7e-0000-0000-0000-000000000000",
    )
    rng = random.Random(size)
    ledger = Ledger()
    for index in range(size):
        key = f"{index:032x}"
        ledger.put(
            LedgerEntry(
                key=key,
                status="delivered",
                title=f"alert {index}",
                severity="high",
                first_seen=START,
                last_seen=START,
                last_event=START,
                last_run="r0",
                alert=template.model_copy(
                    update={
                        "alert_id": key,
                        # unique values, so the ledger compresses like real alerts do
                        "fields": {
                            "sha256": rng.randbytes(32).hex(),
                            "pid": rng.randrange(1 << 16),
                        },
                        "group": {"host": f"host-{rng.randrange(10**6):06d}", "name": "x"},
                    }
                ).model_dump_json(),
                notified_at=START,
                notified_until=START,
                destinations=["soc"],
                delivered_to=["soc"],
                attempts=1,
            )
        )
    return ledger


def big(args: argparse.Namespace, work: Path) -> dict[str, float]:
    sink = work / "sent-big.jsonl"
    hunt = book(sink, "24h")
    assert hunt.alert is not None
    store = ledger_store(open_store(f"file://{work}/store-big"), str(hunt.id))
    assert isinstance(store.store, FileStore)
    path = store.store.path(store.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ledger_bytes(big_ledger(args.big), 1))
    reads, writes, sections = [], [], []
    for run in range(args.repeat):
        began = time.perf_counter()
        data = path.read_bytes()
        ledger = parse_ledger(data, store.uri)
        reads.append(time.perf_counter() - began)
        began = time.perf_counter()
        ledger_bytes(ledger, ledger.generation + 1)
        writes.append(time.perf_counter() - began)
        stop = START + timedelta(days=2, hours=run)
        hosts = [f"host-{i:03d}" for i in range(25)] + [f"fresh-{run}-{i}" for i in range(25)]
        table = pd.DataFrame(
            {"id": hosts, "type": "process", "name": "x", "host": hosts, "x_score": 3}
        )
        records = raise_alerts(hunt, table, stop)
        began = time.perf_counter()
        run_section(
            store,
            hunt.alert,
            records,
            now=stop,
            run_id=f"big{run}",
            hunt_title="Bench",
            dry_run=False,
            retry=RetryPolicy(tries=1, backoff=0),
        )
        sections.append(time.perf_counter() - began)
    return {
        "keys": len(store.read()[0]),
        "mb": path.stat().st_size / 1e6,
        "read_ms": statistics.median(reads) * 1000,
        "write_ms": statistics.median(writes) * 1000,
        "section_ms": statistics.median(sections) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--recurring", type=int, default=10)
    parser.add_argument("--activity", type=float, default=0.5)
    parser.add_argument("--new-per-day", type=int, default=20)
    parser.add_argument("--suppress", nargs="+", default=["0s", "1h", "24h", "7d"])
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="huntline-bench-alerts-") as scratch:
        work = Path(scratch)
        print(
            f"\nA week of hourly runs over 2-hour windows ({args.days} days, "
            f"{args.recurring} recurring entities, {args.new_per_day} new a day)"
        )
        print(
            f"{'':16} {'raised':>7} {'notified':>9} {'messages':>9} {'keys':>6} "
            f"{'ledger':>9} {'section/run':>12}"
        )
        rows = [week(args, suppress, work) for suppress in args.suppress]
        print(
            f"{'no ledger':16} {rows[0]['raised']:>7} {rows[0]['raised']:>9} "
            f"{rows[0]['raised']:>9} {'-':>6} {'-':>9} {'-':>12}"
        )
        for suppress, row in zip(args.suppress, rows, strict=True):
            print(
                f"{'suppress_for ' + suppress:16} {row['raised']:>7} {row['sent']:>9} "
                f"{row['messages']:>9} {row['keys']:>6} {row['bytes'] / 1024:>7.1f}KB "
                f"{row['section_ms']:>10.1f}ms"
            )
        if args.big:
            result = big(args, work)
            print(f"\nThe ledger at {args.big:,} keys (median of {args.repeat})")
            print(f"  size: {result['mb']:.1f} MB parquet, {result['keys']:,} keys after the runs")
            print(
                f"  read (parse): {result['read_ms']:.0f} ms; write (serialise): "
                f"{result['write_ms']:.0f} ms"
            )
            print(
                f"  ledger section per run, 50 alerts (read + claim write + jsonl delivery + "
                f"record write): {result['section_ms']:.0f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
