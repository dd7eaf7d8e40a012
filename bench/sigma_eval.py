"""Evaluation speed: the local conditions of N converted process_creation rules over M process
rows (the OTRF recordings' Sysmon event-1 processes, repeated), against pySigma's SQLite backend
over the same rows in the same run.

huntline evaluates the conditions two ways: ``huntline.expressions.evaluate``, rule after rule
(``--plain``, slow: each test reads whole columns), and ``BatchEvaluator`` (one pass for all
rules: each column lower-cased and factorized once, each test run once per distinct value and
shared between the rules that have it). The SQLite backend runs each rule's query over an
in-memory table of the raw events (Sigma's field names). ``--unique`` makes every row distinct
(a counter appended to the command line), the worst case for the factorizing evaluator.

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
from huntline.expressions_batch import BatchEvaluator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = (
        os.environ.get("HUNTLINE_SHARED_DATA") or Path(__file__).parents[1].parent / "shared/data"
    )
    parser.add_argument("--data", default=str(default))
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--plain", action="store_true", help="also time evaluate() per rule")
    parser.add_argument("--unique", action="store_true", help="make every row distinct")
    args = parser.parse_args()
    data = Path(args.data)
    rules = process_creation_rules(data / "sigma", args.rules)
    recordings = sorted((data / "otrf").glob("*.zip"))
    events = [event for recording in recordings for event in raw_events(recording)]
    table = pd.concat([huntline_table(recording) for recording in recordings], ignore_index=True)
    table = table[table["x_unique_id"].notna()]
    repeat_events = [dict(e) for e in (events * (args.rows // len(events) + 1))[: args.rows]]
    repeat_table = pd.concat([table] * (args.rows // len(table) + 1), ignore_index=True)
    repeat_table = repeat_table.iloc[: args.rows]
    if args.unique:
        suffix = pd.Series(range(len(repeat_table))).astype(str).to_numpy()
        repeat_table["command_line"] = repeat_table["command_line"].astype("string") + " #" + suffix
        for number, event in enumerate(repeat_events):
            event["CommandLine"] = f"{event.get('CommandLine')} #{number}"
    started = time.perf_counter()
    conditions = [parse_condition(r.conversion.condition) for r in rules if r.conversion]
    evaluator = BatchEvaluator(repeat_table)
    hits = sum(int(mask.sum()) for mask in evaluator.evaluate_all(conditions))
    ours = time.perf_counter() - started
    if args.plain:
        started = time.perf_counter()
        plain_hits = sum(int(evaluate(condition, repeat_table).sum()) for condition in conditions)
        plain = time.perf_counter() - started
        print(f"plain evaluate(), rule after rule: {plain:.1f} s ({plain_hits} row matches)")
    db = reference_db(repeat_events)
    started = time.perf_counter()
    theirs_hits = sum(len(reference_matches(db, result.path)) for result in rules)
    theirs = time.perf_counter() - started
    print(
        f"{len(conditions)} rules over {len(repeat_table)} rows: "
        f"huntline BatchEvaluator {ours:.1f} s "
        f"({hits} row matches), SQLite backend {theirs:.1f} s ({theirs_hits} distinct guids); "
        f"ratio {theirs / ours:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
