"""The local work-pool worker that ``huntline server start`` runs beside the server: Prefect's
``process`` worker (a new interpreter per flow run) or ``huntline worker`` (``pool``: long-lived
processes, :mod:`huntline.prefect.pool_worker`).

It runs from the repository root (deployments name their books relative to it), polls every
second so an intel event reaches its retro-hunt in seconds, and is recorded under the state
directory so ``huntline server stop`` stops it with the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from huntline.processes import stop_group

POLL_SECONDS = "1"


def _record(home: Path) -> Path:
    return home / "worker.json"


def running_worker(home: Path) -> int | None:
    """The pid of the recorded worker, if it still runs."""
    try:
        pid = int(json.loads(_record(home).read_text())["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError):
        return None
    return pid


def start_worker(
    home: Path,
    api_url: str,
    pool: str,
    workdir: Path,
    limit: int | None = None,
    kind: str = "process",
    options: tuple[str, ...] = (),
) -> int:
    """Start ``prefect worker start --pool POOL --type KIND`` (``kind`` "process" or "docker",
    Prefect's own workers) or ``huntline worker --pool POOL`` ("pool") in the background.

    ``limit`` caps the flow runs it runs at once (``--limit``; the pool worker's
    ``--processes``): a benchmark that makes hundreds of runs due in the same second would
    otherwise start them all as processes together. ``options`` go on the worker's command
    line as they are (``bench/worker_cost.py`` passes ``--recycle``).
    """
    existing = running_worker(home)
    if existing is not None:
        return existing
    home.mkdir(parents=True, exist_ok=True)
    log = home / "worker.log"
    environment = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_WORKER_QUERY_SECONDS": POLL_SECONDS,
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*_command(kind, pool, limit), *options],
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,
        )
    record = {"pid": process.pid, "log": str(log), "pool": pool, "kind": kind}
    _record(home).write_text(json.dumps(record))
    return process.pid


def _command(kind: str, pool: str, limit: int | None) -> list[str]:
    if kind == "pool":
        processes = ["--processes", str(limit)] if limit is not None else []
        return [sys.executable, "-m", "huntline.cli", "worker", "--pool", pool, *processes]
    return [
        sys.executable,
        "-m",
        "prefect",
        "worker",
        "start",
        "--pool",
        pool,
        "--type",
        kind,
        *(["--limit", str(limit)] if limit is not None else []),
    ]


def stop_worker(home: Path) -> bool:
    """Stop the recorded worker and the flow runs it started; returns whether one ran."""
    pid = running_worker(home)
    _record(home).unlink(missing_ok=True)
    if pid is None:
        return False
    return stop_group(pid)
