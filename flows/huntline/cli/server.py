"""``huntline server``: start, stop or ask about the local Prefect server and its worker."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from huntline.cli.console import err, out
from huntline.cli.worker import positive


def cmd_server(args: argparse.Namespace) -> int:
    from huntline.prefect.server import (
        ensure_server,
        running_local_server,
        state_dir,
        stop_local_server,
    )
    from huntline.prefect.worker import running_worker, start_worker, stop_worker

    home = state_dir() / "prefect"
    if args.action == "start":
        started = ensure_server(
            progress=lambda message: err.print(message, markup=False), database=args.database
        )
        out.print(f"Prefect UI: {started.ui_url} (database: {started.database})")
        if not args.no_worker:
            from huntline.prefect.client import sync_client
            from huntline.prefect.deploy import ensure_work_pool
            from huntline.prefect.zombies import ensure_zombie_automation

            with sync_client() as client:
                if args.worker != "docker":  # huntline pool create docker makes that one
                    ensure_work_pool(client, args.pool)
                ensure_zombie_automation(client)
            pid = start_worker(
                home, started.api_url, args.pool, Path.cwd(), args.processes, kind=args.worker
            )
            out.print(
                f"{args.worker} worker of pool {args.pool!r} running "
                f"(pid {pid}, log {home / 'worker.log'})"
            )
        if not args.foreground:
            out.print("stop both with: huntline server stop")
            return 0
        out.print("Ctrl-C stops both")
        try:
            while running_local_server(home) is not None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        stop_worker(home)
        stop_local_server(home)
        out.print("stopped the server and its worker")
    elif args.action == "stop":
        worker = stop_worker(home)
        server = stop_local_server(home)
        out.print(
            ("stopped the server" if server else "no local server was running")
            + (" and its worker" if worker else "")
        )
    else:
        running = running_local_server(home)
        worker_pid = running_worker(home)
        out.print(
            f"running: {running.ui_url} (database: {running.database})"
            if running
            else "not running"
        )
        out.print(f"worker: pid {worker_pid}" if worker_pid else "worker: not running")
        return 0 if running else 1
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``server start|stop|status``."""
    server = commands.add_parser("server", help="the local Prefect server and its worker")
    server.add_argument("action", choices=["start", "stop", "status"])
    server.add_argument("--pool", default="huntline", help="the worker's work pool (huntline)")
    server.add_argument("--no-worker", action="store_true", help="start the server only")
    server.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        help="the server's database when it starts: sqlite (the default) or postgresql, "
        "huntline's own PostgreSQL cluster under the state directory, bound to 127.0.0.1, "
        "for hundreds of hunts or several workers (needs Debian's postgresql package; "
        "also HUNTLINE_DATABASE)",
    )
    server.add_argument(
        "--worker",
        choices=["pool", "process", "docker"],
        default="pool",
        help="pool (the default): huntline worker, runs in 4 long-lived processes; process: "
        "Prefect's process worker, a new interpreter per run; docker: Prefect's Docker worker, "
        "a container per run (for a pool made by huntline pool create docker)",
    )
    server.add_argument(
        "--processes",
        type=positive(int),
        metavar="N",
        help="runs at once: huntline worker's long-lived processes (4), or the process or Docker "
        "worker's --limit; for hundreds of hunts due together, about 10 (bench/schedule_load.py: "
        "500 every 5 minutes on PostgreSQL kept up at 2.0 runs/s with 10 on 2 cores)",
    )
    server.add_argument(
        "--foreground", action="store_true", help="stay in the foreground; Ctrl-C stops both"
    )
    server.set_defaults(handler=cmd_server)
