"""``huntline datasources``: list the stix-shifter profiles and check one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from huntline.cli.console import err, escape, new_table, out


def cmd_datasources_list(args: argparse.Namespace) -> int:
    from huntline.fetch.sources.diagnose import list_sources

    sources = list_sources(profiles_file=Path(args.profiles) if args.profiles else None)
    if not sources:
        err.print(
            "no stix-shifter profiles: set STIXSHIFTER_<NAME>_CONNECTOR/_CONNECTION/_CONFIG, or "
            "write profiles.NAME.{connector, connection, config} in stixshifter.yaml"
        )
        return 0
    table = new_table(show_header=True)
    for column in ("profile", "connector", "where", "defined in", "status"):
        table.add_column(column, overflow="fold")
    for source in sources:
        status = source.problem or ("ok" if source.installed else "module not installed")
        cells = (source.name, source.connector, source.where, source.origin, status)
        table.add_row(*map(escape, cells))
    out.print(table)
    return 0


def cmd_datasources_check(args: argparse.Namespace) -> int:
    import asyncio

    from huntline.fetch.sources.diagnose import check_source

    report = asyncio.run(
        check_source(args.profile, profiles_file=Path(args.profiles) if args.profiles else None)
    )
    for line in report.lines():
        (out if report.ok else err).print(line, markup=False)
    return 0 if report.ok else 1


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``datasources list`` and ``datasources check PROFILE``."""
    datasources = commands.add_parser(
        "datasources", help="stix-shifter data source profiles"
    ).add_subparsers(dest="datasources_command", required=True)
    profiles = argparse.ArgumentParser(add_help=False)
    profiles.add_argument(
        "--profiles",
        help="stixshifter.yaml (default: HUNTLINE_STIXSHIFTER_CONFIG or ./stixshifter.yaml)",
    )
    datasources.add_parser(
        "list",
        parents=[profiles],
        help="list the profiles and whether their connectors are installed",
    ).set_defaults(handler=cmd_datasources_list)
    check = datasources.add_parser(
        "check", parents=[profiles], help="ping a profile and run a tiny query; exits 1 on failure"
    )
    check.add_argument("profile", metavar="PROFILE")
    check.set_defaults(handler=cmd_datasources_check)
