"""The ``huntline`` command. Exit codes live here and nowhere else.

0 success; 1 a :class:`~huntline.errors.HuntlineError` (a clean message, no traceback);
3 an unexpected error (traceback written to a log file under the state directory); 130 Ctrl-C.
A command with ``--json`` also prints a failure on stdout as ``{"error": {...}}``
(:func:`huntline.cli.console.error_record`), so a script reading stdout never gets 0 bytes.

Each command group is one module of this package with a ``register(commands)`` function that
adds its subcommands, each with a ``handler``; :data:`COMMAND_GROUPS` lists them, so a new group
is one module plus one line there. Handlers return 0 or 1 and raise errors; this module alone
turns errors into exit codes, and :func:`huntline.cli.console.print_error` alone prints them.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huntline.cli import (
    alerts,
    attack,
    book,
    datasources,
    images,
    intel,
    pool,
    replay,
    runs,
    schedule,
    server,
    sigma,
    testing,
    worker,
)
from huntline.cli.console import err, error_record, escape, print_error
from huntline.errors import HuntlineError

COMMAND_GROUPS: tuple[Callable[[argparse._SubParsersAction[Any]], None], ...] = (
    book.register,
    runs.register,
    replay.register,
    alerts.register,
    images.register,
    datasources.register,
    server.register,
    intel.register,
    schedule.register,
    testing.register,
    attack.register,
    sigma.register,
    worker.register,
    pool.register,
)
"""Every command group, in the order ``huntline --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huntline", description="Hunting-as-code: run YAML hunt books as Prefect flows."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for register in COMMAND_GROUPS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import huntline.prefect  # noqa: F401  # installs Prefect's services into the stages

        return int(args.handler(args))
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except HuntlineError as error:
        print_error(error)
        if getattr(args, "json", False):
            print(json.dumps(error_record(error), indent=2))
        return 1
    except Exception as error:
        log = _crash()
        if getattr(args, "json", False):
            print(json.dumps(error_record(error, log=str(log)), indent=2))
        return 3


def _crash() -> Path:
    """Write the traceback of the error being handled to a log file, say so on stderr, and
    return the file."""
    from huntline.prefect.server import state_dir

    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"crash-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    log.write_text(traceback.format_exc())
    message = escape(f"{sys.exc_info()[1]}\n  traceback written to {log}")
    err.print(f"[red]unexpected error[/]: {message}")
    return log
