"""Evaluation speed: the local conditions of N converted process_creation rules over M process
rows (the OTRF recordings' Sysmon event-1 processes, repeated), against pySigma's SQLite backend
over the same rows in the same run.

huntline evaluates every rule's condition with ``huntline.expressions.evaluate`` over one table,
rule after rule (no shared lower-casing or multi-pattern matching yet); the SQLite backend runs
each rule's query over an in-memory table. Both are timed per rule set, so a small sample of
rules gives the rate.

    PYTHONPATH=flows .venv/bin/python bench/sigma_eval.py [--rules 1000] [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
from sigma_agreement import (
    huntline_table,
    process_creation_rules,
    raw_events,
    reference_db,
    reference_matches,
)

from huntline.expressions import evaluate, parse_condition


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = (
        os.environ.get("HUNTLINE_SHARED_DATA") or Path(__file__).parents[1].parent / "shared/data"
    )
    parser.add_argument("--data", default=str(default))
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = Path(args.data)
    rules = process_creation_rules(data / "sigma", args.rules)
    recordings = sorted((data / "otrf").glob("*.zip"))
    events = [event for recording in recordings for event in raw_events(recording)]
    table = pd.concat([huntline_table(recording) for recording in recordings], ignore_index=True)
    table = table[table["x_unique_id"].notna()]
    repeat_events = (events * (args.rows // len(events) + 1))[: args.rows]
    repeat_table = pd.concat([table] * (args.rows // len(table) + 1), ignore_index=True)
    repeat_table = repeat_table.iloc[: args.rows]
    conditions = [parse_condition(r.conversion.condition) for r in rules if r.conversion]
    started = time.perf_counter()
    hits = sum(int(evaluate(condition, repeat_table).sum()) for condition in conditions)
    ours = time.perf_counter() - started
    db = reference_db(repeat_events)
    started = time.perf_counter()
    theirs_hits = sum(len(reference_matches(db, result.path)) for result in rules)
    theirs = time.perf_counter() - started
    print(
        f"{len(conditions)} rules over {len(repeat_table)} rows: huntline {ours:.1f} s "
        f"({hits} row matches), SQLite backend {theirs:.1f} s ({theirs_hits} distinct guids); "
        f"ratio {theirs / ours:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
