"""``huntline runs list|show``: past runs, read from object storage alone (no Prefect server)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from huntline.cli.console import add_json_option, add_storage_option, escape, new_table, out

if TYPE_CHECKING:
    from huntline.manifest import RunManifest
    from huntline.run_history import RunRecord


def cmd_runs_list(args: argparse.Namespace) -> int:
    from huntline.run_history import list_runs
    from huntline.storage import open_store

    hunt_id = None
    if args.book:
        from huntline.steps.book_checks import load_hunt

        hunt_id = str(load_hunt(args.book).id)
    store = open_store(args.storage)
    records = list_runs(store, hunt_id)
    if args.json:
        print(json.dumps([record.model_dump(mode="json") for record in records], indent=2))
        return 0
    if not records:
        where = store.root + (f" for hunt {hunt_id}" if hunt_id else "")
        out.print(f"no runs in {where}", markup=False)
        return 0
    table = new_table(show_header=True)
    for column in ("when", "run", "hunt", "state", "window", "rows", "alerts"):
        table.add_column(column, overflow="fold")
    for record in records:
        rows = ", ".join(f"{name} {count}" for name, count in record.rows.items()) or "-"
        state = record.status + (" (dry run)" if record.dry_run else "")
        state += f", {len(record.warnings)} warning(s)" if record.warnings else ""
        cells = (
            record.when,
            record.run_id,
            record.title,
            state,
            record.window,
            rows,
            record.alerts,
        )
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    from huntline.run_history import artifacts, find_run, record_of
    from huntline.storage import open_store

    store = open_store(args.storage)
    key, manifest = find_run(store, args.run)
    if args.json:
        print(
            json.dumps(
                {**manifest.model_dump(mode="json"), "manifest_uri": store.uri(key)}, indent=2
            )
        )
        return 0
    record = record_of(store, key, manifest)
    _print_record(record, manifest, artifacts(manifest))
    return 0


def _print_record(record: RunRecord, manifest: RunManifest, found: list[tuple[str, str]]) -> None:
    lines = [
        f"run {record.run_id} of {record.title} ({record.hunt_id})",
        f"  when: {record.when}",
        f"  state: {record.status}" + (" (dry run)" if record.dry_run else ""),
        f"  window: {record.window}",
        f"  book: {manifest.book.path}",
        f"  alerts: {'no alert section' if record.alert_count is None else record.alerts}"
        + (" (behind the failed gate: stored, not delivered)" if record.gated else ""),
    ]
    lines += [f"  error: {record.error}"] if record.error else []
    lines += [f"  warning: {warning}" for warning in record.warnings]
    lines += ["", "Tables and artifacts"] + [f"  {what}: {uri}" for what, uri in found]
    lines += [f"  manifest: {record.manifest_uri}"]
    lines += ["", f"Flow run: {record.flow_run_url or '(not recorded)'}"]
    for line in lines:
        out.print(line, markup=False)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``runs list`` and ``runs show``."""
    runs = commands.add_parser("runs", help="past runs, read from object storage").add_subparsers(
        dest="runs_command", required=True
    )
    storage = argparse.ArgumentParser(add_help=False)
    add_storage_option(storage)
    add_json_option(storage)
    listing = runs.add_parser(
        "list",
        parents=[storage],
        help="every run, newest first: when, window, state, rows per variable, alerts",
    )
    listing.add_argument("book", nargs="?", metavar="BOOK", help="only the runs of this book")
    listing.set_defaults(handler=cmd_runs_list)
    show = runs.add_parser(
        "show", parents=[storage], help="one run: its manifest, tables, artifacts, flow run URL"
    )
    show.add_argument("run", metavar="RUN", help="the flow run id, or its first characters")
    show.set_defaults(handler=cmd_runs_show)
