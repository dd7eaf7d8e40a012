"""Latency from an intel event to the start of the retro-hunt's flow run it triggers.

Starts a real Prefect server (SQLite, a fresh PREFECT_HOME) and a process worker polling every
second, deploys a copy of the sample retro-hunt book with ``huntline deploy``, then emits
``huntline.intel.updated`` for the sample feed N times (default 20), one at a time, and
measures emit -> the triggered flow run's start time (as the server records it). Prints the
median and the worst.

    .venv/bin/python bench/intel_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="huntline-bench-"))
    project = work / "project"
    (project / "flows").mkdir(parents=True)
    for name in ("hunt.py", "intel_watch.py"):
        shutil.copy(REPO / "flows" / name, project / "flows" / name)
    shutil.copytree(REPO / "hunts/data", project / "hunts/data")
    for name in ("intel.yaml", "intel_retro_processes.yaml"):
        shutil.copy(REPO / "hunts" / name, project / "hunts" / name)
    os.environ["HUNTLINE_STORAGE"] = str(work / "store")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

    from huntline.prefect.server import start_local_server
    from huntline.prefect.worker import start_worker, stop_worker

    server = start_local_server(work / "prefect")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        subprocess.run(
            [sys.executable, "-m", "huntline.cli", "deploy"],
            cwd=project,
            check=True,
            capture_output=True,
        )
        start_worker(work / "worker", server.api_url, "huntline", project)
        latencies = measure(args.runs)
    finally:
        stop_worker(work / "worker")
        if server.pid:
            os.killpg(server.pid, signal.SIGTERM)
    print(
        f"event -> flow run start, {len(latencies)} runs: median "
        f"{statistics.median(latencies):.2f} s, worst {max(latencies):.2f} s, "
        f"best {min(latencies):.2f} s"
    )


def measure(runs: int) -> list[float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.events import emit_event

    from huntline.intel.events import EVENT, resource_id

    latencies: list[float] = []
    with get_client(sync_client=True) as client:
        only = DeploymentFilter(name=DeploymentFilterName(any_=["intel-retro-processes"]))
        for index in range(runs):
            seen = {run.id for run in client.read_flow_runs(deployment_filter=only)}
            emitted = datetime.now(UTC)
            emit_event(
                event=EVENT,
                resource={"prefect.resource.id": resource_id("sample")},
                payload={
                    "feed": "sample",
                    "count": 1,
                    "truncated": False,
                    "parquet": "",
                    "indicators": {"file_name": [f"bench-{index}.exe"]},
                },
            )
            deadline = time.monotonic() + 120
            started = None
            while started is None and time.monotonic() < deadline:
                time.sleep(0.2)
                for run in client.read_flow_runs(deployment_filter=only):
                    if run.id not in seen and run.start_time is not None:
                        started = run.start_time
            if started is None:
                raise TimeoutError(f"run {index}: no triggered flow run started within 120 s")
            latencies.append((started - emitted).total_seconds())
            print(f"run {index + 1}: {latencies[-1]:.2f} s", flush=True)
            time.sleep(3)  # the previous run finishes (concurrency limit 1 per hunt)
    return latencies


if __name__ == "__main__":
    main()
