"""``huntline alerts list|show``: the alert ledgers, read from object storage alone."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from huntline.cli.console import add_json_option, add_storage_option, escape, new_table, out

if TYPE_CHECKING:
    import pandas as pd


def _hunts(args: argparse.Namespace, store: Any) -> list[str]:
    from huntline.alert.views import hunts_with_ledgers

    if getattr(args, "book", None):
        from huntline.steps.book_checks import load_hunt

        return [str(load_hunt(args.book).id)]
    return hunts_with_ledgers(store)


def cmd_alerts_list(args: argparse.Namespace) -> int:
    from huntline.alert.statuses import STATUSES
    from huntline.alert.views import ledger_rows
    from huntline.storage import open_store

    store = open_store(args.storage)
    rows = ledger_rows(store, _hunts(args, store), tuple(args.status or STATUSES))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        out.print(f"no alerts in the ledgers of {store.root}", markup=False)
        return 0
    table = new_table(show_header=True)
    for column in ("key", "status", "severity", "title", "first seen", "last seen", "count", "to"):
        table.add_column(column, overflow="fold")
    for row in rows:
        to = ", ".join(row["delivered_to"]) or "-"
        if row["status"] == "pending" and row["last_error"]:
            to += f" (pending: {row['last_error']})"
        cells = (
            row["key"][:12],
            row["status"],
            row["severity"],
            row["title"],
            f"{row['first_seen']:%Y-%m-%d %H:%M}",
            f"{row['last_seen']:%Y-%m-%d %H:%M}",
            str(row["count"]),
            to,
        )
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)
    return 0


def cmd_alerts_show(args: argparse.Namespace) -> int:
    from huntline.alert.views import entry_json, evidence_rows, find_entry
    from huntline.storage import open_store

    store = open_store(args.storage)
    hunt_id, entry = find_entry(store, args.key, _hunts(args, store))
    evidence = evidence_rows(store, entry)
    data = entry_json(hunt_id, entry)
    if args.json:
        data["evidence"] = json.loads(evidence.to_json(orient="records", date_format="iso"))
        print(json.dumps(data, indent=2, default=str))
        return 0
    alert = data.pop("alert")
    lines = [f"{alert['title']}", f"  key: {entry.key} (hunt {hunt_id})"]
    for name in ("status", "severity", "risk_score", "first_seen", "last_seen", "count"):
        lines.append(f"  {name}: {data[name]}")
    lines.append(
        f"  delivered to: {', '.join(entry.delivered_to) or '-'} of "
        f"{', '.join(entry.destinations) or 'no destination'}"
    )
    lines += [f"  last error: {entry.last_error}"] if entry.last_error else []
    if alert.get("summary"):
        lines.append(f"  summary: {alert['summary']}")
    lines.append(f"  window: {alert['window_start']} - {alert['window_stop']}")
    lines += [f"  group: {alert['group']} ({alert['count']} rows)"] if alert["group"] else []
    lines += [f"  {name}: {values}" for name, values in alert["reasons"].items()]
    lines.append(f"  evidence: {alert['evidence_uri']}")
    lines.append(f"  flow run: {alert.get('flow_run_url') or '-'}")
    for line in lines:
        out.print(line, markup=False)
    out.print(f"\nEvidence ({len(evidence)} rows)", markup=False)
    for line in vertical_records(evidence):
        out.print(line, markup=False)
    return 0


def vertical_records(frame: pd.DataFrame) -> list[str]:
    """Each row as a record, one ``column: value`` line per column that has a value (the rest
    counted): a Windows process row has dozens of columns and a long command line, which as a
    table row was one line about 2,000 characters wide."""
    from huntline.alert.templates import is_missing

    lines: list[str] = []
    width = max((len(str(column)) for column in frame.columns), default=0)
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        lines.append(f"-- row {number} of {len(frame)} --")
        empty = 0
        for column, value in row.items():
            if is_missing(value):
                empty += 1
                continue
            lines.append(f"  {str(column).ljust(width)}  {value}")
        lines += [f"  ({empty} empty column(s) not shown)"] if empty else []
    return lines


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``alerts list`` and ``alerts show``."""
    from huntline.alert.statuses import STATUSES

    alerts = commands.add_parser(
        "alerts", help="the alert ledgers: what was raised, suppressed, delivered or pending"
    ).add_subparsers(dest="alerts_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_storage_option(common)
    add_json_option(common)
    listing = alerts.add_parser(
        "list", parents=[common], help="the ledger as a table, latest sighting first"
    )
    listing.add_argument("book", nargs="?", metavar="BOOK", help="only the alerts of this book")
    listing.add_argument(
        "--status", action="append", choices=STATUSES, help="only these statuses (repeatable)"
    )
    listing.set_defaults(handler=cmd_alerts_list)
    show = alerts.add_parser("show", parents=[common], help="one alert, with its evidence rows")
    show.add_argument("key", metavar="KEY", help="the alert key, or its first characters")
    show.add_argument("--book", help="look only in this book's ledger")
    show.set_defaults(handler=cmd_alerts_show)
