"""``huntline pack validate|run PACK``: rule packs, many books over one fetch
(:mod:`huntline.packs`)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from huntline.cli.console import add_json_option, add_storage_option, out, timestamp


def cmd_pack_validate(args: argparse.Namespace) -> int:
    from huntline.packs import load_pack

    pack = load_pack(args.pack)
    out.print(
        f"✓ {args.pack}: {len(pack.members)} member(s), {pack.spec.entity} from {pack.spec.source}",
        markup=False,
    )
    return 0


def cmd_pack_run(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    from huntline.packs import load_pack, run_pack

    if (args.start is None) != (args.stop is None):
        raise argparse.ArgumentTypeError("give both --start and --stop, or neither")
    pack = load_pack(args.pack)
    report = run_pack(
        pack, args.storage, datetime.now(UTC), start=args.start, stop=args.stop,
        dry_run=args.dry_run, source=args.source,
    )  # fmt: skip
    if args.json:
        print(json.dumps(report.record(), indent=2))
    else:
        out.print(
            f"{report.pack}: one fetch of {report.fetched.rows} rows in "
            f"{report.fetch_seconds:.1f} s ({report.fetched.uri})",
            markup=False,
        )
        table = Table(show_header=True)
        for column in ("member", "rows matched", "alerts", "time", "error"):
            table.add_column(column, overflow="fold")
        for member in report.members:
            cells = (
                member.title,
                str(member.rows),
                str(len(member.alerts)),
                f"{member.seconds:.2f} s",
                member.error or "",
            )
            table.add_row(*(escape(cell) for cell in cells))
        out.print(table)
    return 1 if any(member.error for member in report.members) else 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``pack validate`` and ``pack run``."""
    pack = commands.add_parser(
        "pack", help="rule packs: many books sharing one fetch per source and window"
    ).add_subparsers(dest="pack_command", required=True)
    validate = pack.add_parser("validate", help="check a pack file and every member book")
    validate.add_argument("pack", metavar="PACK")
    validate.set_defaults(handler=cmd_pack_validate)
    run = pack.add_parser(
        "run",
        help="fetch once, run every member over it (each with its own alerts and ledger); "
        "exit 1 if a member failed",
    )
    run.add_argument("pack", metavar="PACK")
    run.add_argument("--start", type=timestamp, help="window start (ISO 8601)")
    run.add_argument("--stop", type=timestamp, help="window stop (ISO 8601)")
    run.add_argument("--dry-run", action="store_true", help="compute alerts but deliver none")
    run.add_argument("--source", help="data source for the shared fetch instead of the pack's")
    add_storage_option(run)
    add_json_option(run)
    run.set_defaults(handler=cmd_pack_run)
