"""``huntline replay BOOK --from ISO --to ISO``: what an edited book would raise over the
windows past runs stored, and which windows it cannot judge (:mod:`huntline.replay`)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from huntline.cli.console import (
    add_json_option,
    add_storage_option,
    escape,
    new_table,
    out,
    timestamp,
)

if TYPE_CHECKING:
    from huntline.replay import ReplayReport


def cmd_replay(args: argparse.Namespace) -> int:
    from huntline.replay import replay

    report = _as_flow(args) if args.flow else replay(args.book, args.storage, args.start, args.stop)
    if args.json:
        print(json.dumps(report.record(), indent=2))
        return 0
    table = new_table(show_header=True, title=f"replay of {args.book}")
    for column in ("window", "run", "then", "now", "new", "gone", "unchanged"):
        table.add_column(column, overflow="fold")
    for window in report.windows:
        span = f"{window.start:%Y-%m-%d %H:%M} .. {window.stop:%Y-%m-%d %H:%M}"
        if not window.replayable:
            cells = (span, window.run_id, str(len(window.then)), "-", "-", "-", "-")
            table.add_row(*(escape(cell) for cell in cells))
            table.add_row("", escape(f"not replayable: {window.reason}"), "", "", "", "", "")
            continue
        cells = (
            span,
            window.run_id,
            str(len(window.then)),
            str(len(window.now)),
            _titles(window.new, window.titles),
            _titles(window.gone, window.titles),
            str(len(window.unchanged)),
        )
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)
    summary = report.record()
    out.print(
        f"{summary['replayed']} window(s) replayed, {summary['not_replayable']} not replayable; "
        f"{summary['new']} new, {summary['gone']} gone, {summary['unchanged']} unchanged",
        markup=False,
    )
    return 0


def _as_flow(args: argparse.Namespace) -> ReplayReport:
    """The replay as a flow run on the server, which keeps its table as an artifact."""
    from huntline.cli.console import err, quiet_expected_errors
    from huntline.prefect.client import flow_result
    from huntline.prefect.server import ensure_server

    server = ensure_server(progress=lambda message: err.print(f"[dim]{escape(message)}[/]"))
    from huntline.prefect.replay_flow import replay_flow

    quiet_expected_errors()
    state = replay_flow(
        book=args.book, start=args.start, stop=args.stop, storage=args.storage, return_state=True
    )
    url = server.flow_run_url(str(state.state_details.flow_run_id))
    report: ReplayReport = flow_result(state, url, "replay")
    err.print(f"replay run {escape(url)}: its table is the run's artifact 'replay'")
    return report


def _titles(keys: list[str], titles: dict[str, str]) -> str:
    return "\n".join(titles.get(key) or key for key in keys) if keys else "0"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``replay``."""
    parser = commands.add_parser(
        "replay",
        help="re-evaluate a book over the fetch tables past runs stored (no source queried, "
        "no ledger written, nobody notified): alerts new, gone and unchanged per window",
    )
    parser.add_argument("book", metavar="BOOK")
    parser.add_argument("--from", dest="start", type=timestamp, required=True, metavar="ISO")
    parser.add_argument("--to", dest="stop", type=timestamp, required=True, metavar="ISO")
    parser.add_argument(
        "--flow",
        action="store_true",
        help="run as a Prefect flow on the server, which keeps the table as an artifact",
    )
    add_storage_option(parser)
    add_json_option(parser)
    parser.set_defaults(handler=cmd_replay)
