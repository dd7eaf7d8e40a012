"""``huntline intel pull``: pull the intel feeds once, as the intel-watch deployment does."""

from __future__ import annotations

import argparse
import json
from typing import Any

from huntline.cli.console import (
    add_json_option,
    add_storage_option,
    err,
    new_table,
    out,
    quiet_expected_errors,
)


def cmd_intel_pull(args: argparse.Namespace) -> int:
    from huntline.intel import load_feeds, select_feeds
    from huntline.prefect.server import ensure_server

    # A broken feeds file or an unknown feed fails before any server is involved.
    select_feeds(load_feeds(args.feeds_file), args.feed)
    server = ensure_server(progress=lambda message: err.print(f"[dim]{message}[/]"))
    from huntline.prefect.client import flow_result
    from huntline.prefect.intel_flow import intel_watch

    quiet_expected_errors()

    state = intel_watch(
        feeds_file=args.feeds_file, feeds=args.feed, storage=args.storage, return_state=True
    )
    url = server.flow_run_url(str(state.state_details.flow_run_id))
    pulls = flow_result(state, url, "intel pull")
    if args.json:
        print(json.dumps([pull.model_dump(mode="json") for pull in pulls], indent=2))
        return 0
    table = new_table(title="intel pull")
    for column in ("feed", "status", "indicators", "new", "stored"):
        table.add_column(column, overflow="fold")
    for pull in pulls:
        table.add_row(pull.feed, pull.status, str(pull.total), str(pull.new), pull.new_uri or "-")
    out.print(table)
    out.print(f"[bold]Flow run[/]: {url}")
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``intel pull``."""
    from huntline.intel.paths import DEFAULT_FEEDS_FILE

    intel = commands.add_parser("intel", help="threat intel feeds")
    actions = intel.add_subparsers(dest="intel_action", required=True)
    pull = actions.add_parser(
        "pull", help="pull the feeds once; emit huntline.intel.updated for what is new"
    )
    pull.add_argument(
        "--feeds-file", default=DEFAULT_FEEDS_FILE, help=f"feed definitions ({DEFAULT_FEEDS_FILE})"
    )
    pull.add_argument(
        "--feed", action="append", metavar="NAME", help="pull only this feed (repeatable)"
    )
    add_storage_option(pull)
    add_json_option(pull)
    pull.set_defaults(handler=cmd_intel_pull)
