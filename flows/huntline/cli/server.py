"""``huntline server``: start, stop or ask about the local Prefect server."""

from __future__ import annotations

import argparse
from typing import Any

from huntline.cli.console import err, out


def cmd_server(args: argparse.Namespace) -> int:
    from huntline.server import ensure_server, running_local_server, state_dir, stop_local_server

    home = state_dir() / "prefect"
    if args.action == "start":
        started = ensure_server(progress=lambda message: err.print(message, markup=False))
        out.print(f"Prefect UI: {started.ui_url}")
    elif args.action == "stop":
        out.print("stopped" if stop_local_server(home) else "no local server was running")
    else:
        running = running_local_server(home)
        out.print(f"running: {running.ui_url}" if running else "not running")
        return 0 if running else 1
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``server start|stop|status``."""
    server = commands.add_parser("server", help="the local Prefect server")
    server.add_argument("action", choices=["start", "stop", "status"])
    server.set_defaults(handler=cmd_server)
