"""Benchmark: what huntline's APPLY adds over a bare ``docker run`` of the same image and input.

::

    python bench/apply_overhead.py                       # 1k, 10k, 100k processes, 5 runs each
    python bench/apply_overhead.py --sizes 10000 --runs 3 --image kestrel-analytics-plot

For each size a process table is generated (``susp_scoring.generate``, the scoring bench's
tables) and the same image runs on it three ways, each timed end to end, best of ``--runs``:

``bare``
    ``docker run --rm --network none -v DIR:/data IMAGE`` with ``DIR/input/0.parquet.gz``
    already laid out: the floor any runner pays (container create, start, the analytics, exit);
``runner``
    ``run_container``: inputs re-encoded as gzip, image inspected (labels, parameters), the
    locked-down container created, followed (log streaming), waited for and removed, outputs
    collected;
``apply``
    the whole apply step as a flow runs it: download the variable from object storage
    (``file://``), ``run_container``, merge the output into the variable by id, write the
    merged table and ``container.log`` back.

``overhead`` is ``apply - bare``, the goal being under 1 s. Results print as a table and go to
``bench/results/apply_overhead-*.json``. Needs a Docker engine and the image built
(``huntline images build susp_scoring``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from susp_scoring import generate

HERE = Path(__file__).resolve().parent


def best(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def bare_run(image: str, source: Path, work: Path) -> None:
    """``docker run`` on a /data laid out by hand (gzip input, writable output)."""
    import pyarrow.parquet as pq

    for name in ("input", "output", "display"):
        (work / name).mkdir(parents=True, exist_ok=True)
        (work / name).chmod(0o777)
    target = work / "input" / "0.parquet.gz"
    if not target.exists():
        pq.write_table(pq.read_table(source), target, compression="gzip")
        target.chmod(0o644)
    subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{work}:/data", image],
                   check=True, capture_output=True)  # fmt: skip


def measure(args: argparse.Namespace, tmp: Path, size: int) -> dict[str, Any]:
    import pandas as pd

    from huntline.analytics.docker_runner import run_container
    from huntline.book.model import ApplyStep
    from huntline.steps.finish import RunContext, apply_step
    from huntline.storage import open_store
    from huntline.tables import write_table

    source = tmp / f"procs-{size}.parquet"
    generate(source, size, 0, 0.1, 1)
    store_root = f"file://{tmp / 'store'}"
    ref = write_table(
        open_store(store_root), f"bench/{size}/procs.parquet", pd.read_parquet(source)
    )
    step = ApplyStep.model_validate({"apply": args.image, "on": "procs"})
    counter = iter(range(10**6))

    def apply() -> None:
        context = RunContext(storage=store_root, hunt_id="bench", run_date="2026-12-02",
                             flow_run_id=f"run-{next(counter)}")  # fmt: skip
        apply_step(context, "01_apply", step, {"procs": ref})

    entry: dict[str, Any] = {"size": size, "image": args.image}
    entry["bare"] = best(args.runs, lambda: bare_run(args.image, source, tmp / f"bare-{size}"))
    entry["runner"] = best(args.runs, lambda: run_container(
        args.image, [source], {}, Path(tempfile.mkdtemp(dir=tmp)) / "data", on_log=lambda _: None
    ))  # fmt: skip
    entry["apply"] = best(args.runs, apply)
    entry["overhead"] = entry["apply"] - entry["bare"]
    print(f"{size:>8,} {entry['bare']:>8.2f} {entry['runner']:>8.2f} {entry['apply']:>8.2f} "
          f"{entry['overhead']:>+9.2f}", flush=True)  # fmt: skip
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="kestrel-analytics-susp_scoring")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per way (best counts)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                               "load_avg": os.getloadavg()}, "runs": []}  # fmt: skip
    print(f"{'rows':>8} {'bare s':>8} {'runner s':>8} {'apply s':>8} {'overhead':>9}")
    with tempfile.TemporaryDirectory(prefix="apply-overhead-") as tmp:
        for size in sizes:
            results["runs"].append(measure(args, Path(tmp), size))
    out = HERE / "results" / f"apply_overhead-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    return 0 if all(run["overhead"] < 1.0 for run in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
