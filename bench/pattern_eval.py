"""Local STIX pattern evaluation (huntline.patterns) against stix2-matcher, Arrow against DuckDB,
and the file:// hunt before and after.

::

    python bench/pattern_eval.py --observations 100000 --matcher-rows 20000 \\
        [--duckdb-path /tmp/duckdb-site] [--before /path/to/older/checkout]

Three measurements, each on the same rows side by side:

1. **observations**: ``LocalPattern.match_observations`` and stix2-matcher (as huntline runs
   it: :func:`huntline.fetch.sources.matcher.reference_match`) on the first ``--matcher-rows``
   observations of a stixgen bundle, for every process pattern of the shipped books and the
   "every process" pattern; rows per second (CPU time) and whether both chose the same rows.
2. **tables**: ``LocalPattern.table_mask`` on the flattened process table of the whole bundle,
   and DuckDB over the same Arrow table with hand-written SQL for three of the patterns (when
   DuckDB is importable: it is not a huntline dependency; ``--duckdb-path`` adds a folder
   where it was pip-installed with ``--target``); rows per second (CPU time).
3. **hunt**: a whole file:// fetch of the bundle (pages + entity spool, what a ``get`` does)
   for the books' process patterns, each in a fresh interpreter, with this checkout and with
   ``--before`` (a checkout of an older commit, e.g. ``git worktree add /tmp/before d1d41f9``);
   CPU and wall seconds.

CPU time is reported because the machine is shared (see README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stixgen

REPO = Path(__file__).resolve().parents[1]
#: Hand-written SQL for DuckDB, equivalent to these patterns on a process table.
DUCKDB_SQL = {
    "[process:name = 'powershell.exe']": "\"name\" = 'powershell.exe'",
    "[process:command_line MATCHES '(?i)-enc' AND process:parent_ref.name != 'explorer.exe']": (
        "regexp_matches(command_line, '(?i)-enc') AND \"parent_ref.name\" != 'explorer.exe'"
    ),
    "[process:binary_ref.name LIKE '%.exe' OR process:pid > 4000]": (
        "\"binary_ref.name\" LIKE '%.exe' OR pid > 4000"
    ),
}


def process_patterns() -> list[str]:
    """The shipped books' process patterns, the DuckDB ones, and "every process"."""
    sys.path.insert(0, str(REPO / "tests" / "unit" / "patterns"))
    from conftest import book_patterns  # the differential tests' reader of hunts/

    from huntline.book.observables import every_entity_pattern

    found = [where for _, entity, where in book_patterns() if entity == "process"]
    return list(dict.fromkeys([*found, *DUCKDB_SQL, every_entity_pattern("process")]))


def cpu() -> float:
    return time.process_time()


def observations_side_by_side(path: Path, rows: int, patterns: list[str]) -> list[dict[str, Any]]:
    from huntline.fetch.sources.bundle import read_observed_data
    from huntline.fetch.sources.matcher import reference_match
    from huntline.patterns import compile_pattern

    observed = read_observed_data(path)[:rows]
    results = []
    for pattern in patterns:
        start = cpu()
        local = compile_pattern(pattern).match_observations(observed)
        local_s = cpu() - start
        start = cpu()
        ids = reference_match(pattern, observed)
        matcher_s = cpu() - start
        same = [obs["id"] in ids for obs in observed] == local.tolist()
        results.append(
            {
                "pattern": pattern,
                "rows": len(observed),
                "matched": int(local.sum()),
                "local_rows_per_s": len(observed) / local_s,
                "matcher_rows_per_s": len(observed) / matcher_s,
                "speedup": matcher_s / local_s,
                "same_rows": same,
            }
        )
    return results


def tables_side_by_side(path: Path, patterns: list[str]) -> list[dict[str, Any]]:
    from huntline.fetch.sources.bundle import read_observed_data
    from huntline.fetch.tables.flatten import flatten_arrow
    from huntline.patterns import compile_pattern

    table = flatten_arrow(read_observed_data(path), "process")
    try:
        import duckdb
    except ImportError:
        duckdb = None
    results = []
    for pattern in patterns:
        compiled = compile_pattern(pattern)
        start = cpu()
        for _ in range(3):
            mask = compiled.table_mask(table, "process")
        arrow_s = (cpu() - start) / 3
        entry: dict[str, Any] = {
            "pattern": pattern,
            "rows": table.num_rows,
            "kept": mask.true_count,
            "arrow_rows_per_s": table.num_rows / arrow_s,
        }
        if duckdb is not None and pattern in DUCKDB_SQL:
            connection = duckdb.connect()
            connection.register("t", table)
            query = f"SELECT count(*) FROM t WHERE {DUCKDB_SQL[pattern]}"
            start = cpu()
            for _ in range(3):
                kept = connection.execute(query).fetchone()[0]
            duck_s = (cpu() - start) / 3
            entry |= {"duckdb_rows_per_s": table.num_rows / duck_s, "duckdb_kept": kept}
        results.append(entry)
    return results


def fetch_worker(path: str, pattern: str) -> None:
    """One file:// fetch, as a ``get`` does it (pages into an entity spool); prints JSON."""
    from huntline.fetch import BundleSource, EntitySpool, Window

    window = Window(datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

    async def fetch() -> int:
        count = 0
        with EntitySpool() as spool:
            async for page in BundleSource(Path(path)).pages(pattern, window):
                spool.add(page)
                count += len(page)
        return count

    wall, start = time.perf_counter(), cpu()
    count = asyncio.run(fetch())
    print(json.dumps({"cpu": cpu() - start, "wall": time.perf_counter() - wall, "obs": count}))


def hunt_before_after(path: Path, patterns: list[str], before: Path | None) -> list[dict[str, Any]]:
    trees = {"after": REPO} | ({"before": before} if before else {})
    results = []
    for pattern in patterns:
        entry: dict[str, Any] = {"pattern": pattern}
        for name, tree in trees.items():
            env = os.environ | {"PYTHONPATH": f"{tree / 'flows'}:{REPO / 'bench'}"}
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(path), pattern],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            entry[name] = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(entry)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--matcher-rows", type=int, default=20_000)
    parser.add_argument("--duckdb-path", type=Path)
    parser.add_argument("--before", type=Path)
    parser.add_argument("--worker", nargs=2, metavar=("BUNDLE", "PATTERN"))
    args = parser.parse_args()
    if args.worker:
        fetch_worker(*args.worker)
        return 0
    if args.duckdb_path:
        sys.path.append(str(args.duckdb_path))
    patterns = process_patterns()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.json"
        stixgen.write_bundle(path, args.observations, seed=7, match_fraction=0.1)
        report = {
            "observations": observations_side_by_side(path, args.matcher_rows, patterns),
            "tables": tables_side_by_side(path, patterns),
            "hunt": hunt_before_after(path, patterns, args.before),
        }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
