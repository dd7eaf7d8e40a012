"""Agreement of huntline's Sigma conversion with pySigma's SQLite backend on the OTRF recordings.

For each recording in ``shared/data/otrf`` and each SigmaHQ ``process_creation`` rule that
converts, the matched processes are compared, two ways:

- **huntline**: the recording's STIX bundle flattened into huntline's ``process`` table, the
  rule's local condition (what a converted book's alert evaluates) over it;
- **reference**: the raw events of the same recording, Sysmon event 1 only (the
  ``process_creation`` log source), loaded into SQLite with their own field names (columns that
  differ only in case merged, a ``regexp`` function registered, a column the events lack added
  as null), queried with the SQL of ``pysigma-backend-sqlite`` (no pipeline: the columns are
  Sigma's names).

Both sides are keyed by the Sysmon ProcessGuid (``x_unique_id``); huntline's matches are
limited to processes with an event 1 in the recording, the set the reference can see. A pair
(rule, recording) agrees when the two sets are equal; disagreements are listed with the rule's
fields, so each is a bug or a field the STIX conversion drops (firepit's woodchipper keeps no
OriginalFileName, IntegrityLevel, CurrentDirectory, Company, Product, Description).

    PYTHONPATH=flows .venv/bin/python bench/sigma_agreement.py [--rules N] [--recordings N]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection

from huntline.expressions import parse_condition
from huntline.expressions_batch import BatchEvaluator
from huntline.fetch import flatten_all
from huntline.fetch.sources.bundle import read_observed_data
from huntline.sigma.convert import RuleResult, convert_paths

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def raw_events(recording: Path) -> list[dict[str, object]]:
    """The Sysmon event-1 records of a recording's zip (one JSON object a line)."""
    events = []
    with zipfile.ZipFile(recording) as archive:
        for name in archive.namelist():
            for line in archive.read(name).splitlines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("Channel") == SYSMON and int(event.get("EventID", 0)) == 1:
                    events.append(event)
    return events


def reference_db(events: list[dict[str, object]]) -> sqlite3.Connection:
    """The events in a table ``logs`` with Sigma's field names (case-merged), plus regexp."""
    names: dict[str, str] = {}
    for event in events:
        for key in event:
            names.setdefault(key.lower(), key)
    columns = list(names.values())
    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None)
    db.execute("CREATE TABLE logs (" + ", ".join(f'"{c}"' for c in columns) + ")")
    rows = [
        tuple(
            next((str(v) for k, v in event.items() if k.lower() == c.lower()), None)
            for c in columns
        )
        for event in events
    ]
    db.executemany(f"INSERT INTO logs VALUES ({', '.join('?' * len(columns))})", rows)
    return db


@functools.cache
def reference_query(rule_path: Path) -> str:
    """The SQLite backend's query for a rule, selecting the ProcessGuid."""
    [query] = sqliteBackend().convert(SigmaCollection.from_yaml(rule_path.read_text()))
    return str(query).replace("SELECT *", "SELECT ProcessGuid", 1)


def reference_matches(db: sqlite3.Connection, rule_path: Path) -> set[str]:
    """ProcessGuids the SQLite backend's query selects (columns it lacks added as null)."""
    query = reference_query(rule_path)
    for _ in range(20):
        try:
            return {row[0] for row in db.execute(query)}
        except sqlite3.OperationalError as error:
            missing = re.match(r"no such column: (\S+)", str(error))
            if not missing:
                raise
            db.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1)}"')
    raise RuntimeError(f"too many missing columns in {rule_path}")


def huntline_table(recording: Path) -> pd.DataFrame:
    """The recording's STIX bundle as huntline's process table."""
    stix = recording.with_name(recording.name.replace(".zip", ".stix.json.gz"))
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / "bundle.json"
        bundle.write_bytes(gzip.decompress(stix.read_bytes()))
        tables = flatten_all(read_observed_data(bundle))
    return tables["process"].to_pandas()


def huntline_matches(evaluator: BatchEvaluator, result: RuleResult, visible: set[str]) -> set[str]:
    assert result.conversion is not None
    table = evaluator.table
    mask = evaluator.evaluate(parse_condition(result.conversion.condition))
    guids = table.loc[mask, "x_unique_id"].dropna()
    return {str(guid) for guid in guids} & visible


def compare(
    recordings: list[Path], rules: list[RuleResult]
) -> Iterator[tuple[str, RuleResult, set[str], set[str]]]:
    for recording in recordings:
        events = raw_events(recording)
        db = reference_db(events)
        visible = {str(event.get("ProcessGuid")) for event in events}
        evaluator = BatchEvaluator(huntline_table(recording))
        for result in rules:
            theirs = reference_matches(db, result.path)
            ours = huntline_matches(evaluator, result, visible)
            yield recording.name.removesuffix(".zip"), result, ours, theirs


def process_creation_rules(sigma: Path, limit: int | None) -> list[RuleResult]:
    folder = sigma / "rules" / "windows" / "process_creation"
    converted = [result for result in convert_paths([folder]) if result.conversion is not None]
    return converted[:limit] if limit else converted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = (
        os.environ.get("HUNTLINE_SHARED_DATA") or Path(__file__).parents[1].parent / "shared/data"
    )
    parser.add_argument("--data", default=str(default), help="shared/data (with otrf/, sigma/)")
    parser.add_argument("--rules", type=int, help="only the first N converted rules")
    parser.add_argument("--recordings", type=int, help="only the first N recordings")
    args = parser.parse_args()
    data = Path(args.data)
    started = time.perf_counter()
    rules = process_creation_rules(data / "sigma", args.rules)
    recordings = sorted((data / "otrf").glob("*.zip"))[: args.recordings]
    pairs = agree = fired = 0
    seen: set[str] = set()
    for name, result, ours, theirs in compare(recordings, rules):
        if name not in seen:  # progress, one line per recording
            seen.add(name)
            print(f"{name}: {agree} of {pairs} pairs agree so far", flush=True)
        pairs += 1
        fired += bool(theirs or ours)
        if ours == theirs:
            agree += 1
        else:
            assert result.conversion is not None
            difference = (name, result.path.name, len(ours), len(theirs))
            print("  differs:", *difference, result.conversion.connector_fields, flush=True)
    print(
        f"{len(rules)} rules x {len(recordings)} recordings = {pairs} pairs, "
        f"{fired} with a match on either side, {agree} agree ({agree / max(pairs, 1):.2%}); "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
