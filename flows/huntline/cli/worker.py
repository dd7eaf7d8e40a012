"""``huntline worker``: run the flow runs of a work pool in long-lived processes
(:mod:`huntline.prefect.pool_worker` says why and how)."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_worker(args: argparse.Namespace) -> int:
    from huntline.prefect.pool_worker import Settings, serve_pool

    serve_pool(
        Settings(
            pool=args.pool,
            processes=args.processes,
            run_timeout=args.run_timeout,
            recycle=args.recycle,
            max_memory_mb=args.max_memory,
        )
    )
    return 0


def positive(kind: type[int] | type[float]) -> Any:
    """An argparse type: a number of ``kind`` above 0."""

    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
        return value

    return parse


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``worker``."""
    worker = commands.add_parser(
        "worker", help="run a work pool's flow runs in long-lived processes (Ctrl-C stops)"
    )
    worker.add_argument("--pool", default="huntline", help="the work pool to poll (huntline)")
    worker.add_argument(
        "--processes", type=positive(int), default=4, help="runs at once, one per process (4)"
    )
    worker.add_argument(
        "--run-timeout",
        type=positive(float),
        default=3600.0,
        help="seconds before a run's process is killed and the run marked Crashed (3600)",
    )
    worker.add_argument(
        "--recycle",
        type=positive(int),
        default=200,
        help="runs a process does before it is replaced, bounding memory (200)",
    )
    worker.add_argument(
        "--max-memory",
        type=positive(float),
        default=2048.0,
        metavar="MB",
        help="resident memory of a process past which it is killed (its run marked Crashed) "
        "or, idle, replaced (2048)",
    )
    worker.set_defaults(handler=cmd_worker)
