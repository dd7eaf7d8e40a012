"""Benchmark: a whole ``get`` through stix-shifter's ``mysql`` connector from a real MariaDB.

::

    python bench/fetch_mysql.py                 # 50,000 rows, pages of 1,000
    python bench/fetch_mysql.py --rows 200000

A private MariaDB (Debian's ``mariadb-server``, as the integration tests start it) is loaded
with ``--rows`` generated rows in the schema the connector maps. Then ``finish.fetch_step`` runs
one ``get`` over all of them into a local file store, as a hunt does: the query, paging,
stix-shifter's results translation, flattening into the spool, the stored parquet. It runs once
per ``--page-sizes``, each in its own subprocess (peak RSS is that subprocess's).

The connector (stix-shifter 8.1.3, ``api_client.run_search``) runs the whole query and reads
every row for each page, then skips to the page's offset, so its paging costs grow with
rows x pages: compare the page sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START = datetime(2024, 3, 1, tzinfo=UTC)
NAMES = ("cmd.exe", "powershell.exe", "svchost.exe", "explorer.exe")


def rows(count: int) -> list[dict[str, Any]]:
    """Rows in the connector's schema, one second apart from ``START``."""
    start = int(START.timestamp() * 1000)
    return [
        {"source_ipaddr": f"10.0.{i // 250 % 256}.{i % 250 + 1}", "dest_ipaddr": "203.0.113.7",
         "source_port": 49152 + i % 16000, "dest_port": 443, "protocol": "tcp", "url": None,
         "username": f"user{i % 50}", "filename": NAMES[i % 4], "sha256hash": f"{i % 997:064x}",
         "md5hash": f"{i % 997:032x}", "file_path": "C:\\\\Windows\\\\System32",
         "process_id": 1000 + i, "process_name": NAMES[i % 4],
         "process_arguments": f"{NAMES[i % 4]} /task {i}", "process_created_time": start + i * 1000,
         "entry_time": start + i * 1000 + 500}
        for i in range(count)
    ]  # fmt: skip


def run_get(count: int, page_size: int) -> dict[str, Any]:
    """In the subprocess: one ``get`` of every row (the profile comes from the environment)."""
    from huntline.book.model import GetStep
    from huntline.steps.finish import RunContext, fetch_step

    step = GetStep.model_validate(
        {
            "get": "procs",
            "entity": "process",
            "from": "bench",
            "where": "[process:pid >= 0]",
            "limit": count,
            "page_size": page_size,
        }
    )
    window = (START, datetime.fromtimestamp(START.timestamp() + count + 60, UTC))
    with tempfile.TemporaryDirectory() as store:
        context = RunContext(
            storage=f"file://{store}", hunt_id="bench", run_date="2024-03-01", flow_run_id="x"
        )
        started = time.perf_counter()
        output = fetch_step(context, "get", step, window)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": output.tables["procs"].rows, "query": output.query}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--page-sizes", default="1000,10000")
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        result = run_get(*args.worker)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        print(json.dumps(result))
        return 0
    sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
    from conftest import running_mariadb  # the integration tests' server

    results = {}
    with tempfile.TemporaryDirectory() as root, running_mariadb(Path(root), rows(args.rows)) as db:
        environment = {
            **os.environ,
            "STIXSHIFTER_BENCH_CONNECTOR": "mysql",
            "STIXSHIFTER_BENCH_CONNECTION": json.dumps(db.connection(result_limit=args.rows)),
            "STIXSHIFTER_BENCH_CONFIG": json.dumps(db.config()),
        }
        for page_size in [int(size) for size in args.page_sizes.split(",")]:
            command = [sys.executable, __file__, "--worker", str(args.rows), str(page_size)]
            done = subprocess.run(
                command, env=environment, capture_output=True, text=True, check=False
            )
            if done.returncode:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            result = results[page_size] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{args.rows:>9,} rows  pages of {page_size:>7,}  {result['seconds']:7.2f} s "
                  f"{args.rows / result['seconds']:>8,.0f} obs/s  {result['rows']:,} process rows"
                  f"  peak RSS {result['peak_rss_mb']:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
