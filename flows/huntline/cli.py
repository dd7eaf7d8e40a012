"""The ``huntline`` command. Exit codes live here and nowhere else.

0 success; 1 a :class:`~huntline.errors.HuntlineError` (a clean message, no traceback);
3 an unexpected error (traceback written to a log file under the state directory); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from huntline.errors import BookError, HuntlineError

# Piped or logged output gets room for whole titles and URIs instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_validate(args: argparse.Namespace) -> int:
    from huntline.book import load_book
    from huntline.compile import compile_book

    failures = 0
    for path in args.paths:
        try:
            compile_book(load_book(path))
        except BookError as error:
            failures += 1
            err.print("[red]✗[/]", end=" ")
            err.print(error.message, markup=False)
            for problem in error.problems:
                err.print(f"  {problem}", markup=False)
        except HuntlineError as error:
            failures += 1
            err.print("[red]✗[/]", end=" ")
            err.print(f"{path}: {error}", markup=False)
        else:
            out.print(f"[green]✓[/] {path}")
    return 1 if failures else 0


def cmd_compile(args: argparse.Namespace) -> int:
    from huntline.book import load_book
    from huntline.compile import compile_book, explain, resolve_windows

    book = load_book(args.book)
    plan = compile_book(book)
    windows = resolve_windows(plan, datetime.now(UTC), args.start, args.stop)
    rows = explain(plan, windows)
    if args.json:
        print(json.dumps({"hunt": str(book.id), "title": book.title, "tasks": rows}, indent=2))
        return 0
    table = Table(title=f"{book.title} ({book.id})", show_lines=True)
    for column in ("task", "after", "writes", "does"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(row[column] for column in ("task", "after", "writes", "does")))
    out.print(table)
    return 0


class _QuietExpectedErrors(logging.Filter):
    """Drop the traceback from Prefect's log of an expected failure: the message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], HuntlineError):
            record.exc_info = None
            record.exc_text = None
        return True


def cmd_run(args: argparse.Namespace) -> int:
    from huntline.book import load_book
    from huntline.compile import compile_book, resolve_windows
    from huntline.server import ensure_server

    # Fail on a broken book before any server or flow run is involved.
    resolve_windows(compile_book(load_book(args.book)), datetime.now(UTC), args.start, args.stop)
    server = ensure_server(progress=lambda message: err.print(f"[dim]{message}[/]"))
    from huntline.flow import hunt

    quiet = _QuietExpectedErrors()
    for name in ["prefect", *logging.root.manager.loggerDict]:
        if name.startswith("prefect"):
            for handler in logging.getLogger(name).handlers:
                handler.addFilter(quiet)

    state = hunt(
        book=args.book,
        start=args.start,
        stop=args.stop,
        dry_run=args.dry_run,
        storage=args.storage,
        return_state=True,
    )
    flow_run_id = str(state.state_details.flow_run_id)
    url = server.flow_run_url(flow_run_id)
    if not state.is_completed():
        failure = state.result(raise_on_failure=False)
        if isinstance(failure, HuntlineError):
            failure.message += f"\n  flow run: {url}"
            raise failure
        raise RuntimeError(f"hunt failed ({state.name}): {failure}\n  flow run: {url}")
    summary = state.result()
    if args.json:
        print(json.dumps({**summary.model_dump(mode="json"), "flow_run_url": url}, indent=2))
        return 0
    _print_summary(summary, url)
    return 0


def _print_summary(summary, url: str) -> None:  # type: ignore[no-untyped-def]
    verb = "would raise" if summary.dry_run else "raised"
    out.print(f"\n[bold]{summary.title}[/]: {verb} {summary.alert_count} alert(s)")
    if summary.alerts:
        table = Table(show_header=True)
        for column in ("severity", "title", "entity"):
            table.add_column(column, overflow="fold")
        for alert in summary.alerts:
            table.add_row(alert.severity, alert.title, alert.entity_id or "-")
        out.print(table)
    out.print("\n[bold]Artifacts[/]")
    for name, ref in summary.tables.items():
        out.print(f"  {name}: {ref.rows} rows  {ref.uri}", markup=False)
    for step, uri in summary.displays.items():
        out.print(f"  display ({step}): {uri}", markup=False)
    if summary.alerts_uri:
        out.print(f"  alerts: {summary.alerts_uri}", markup=False)
        out.print(f"  alerts (jsonl): {summary.alerts_jsonl_uri}", markup=False)
        out.print(f"  evidence: {summary.evidence_uri}", markup=False)
    out.print(f"  manifest: {summary.manifest_uri}", markup=False)
    out.print(f"\n[bold]Flow run[/]: {url}")


def cmd_images_build(args: argparse.Namespace) -> int:
    from huntline.analytics.images import build_image, list_images

    names = [args.name] if args.name else list_images(Path(args.root))
    for name in names:
        err.print(f"[dim]building {name}…[/]")
        tag = build_image(
            Path(args.root) / name if not Path(name).is_dir() else Path(name),
            base_image=args.base_image,
            ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
            progress=lambda line: (
                err.print(f"[dim]  {line}[/]", markup=False) if args.verbose else None
            ),
        )
        out.print(f"[green]✓[/] {tag}")
    return 0


def cmd_images_list(args: argparse.Namespace) -> int:
    from huntline.analytics.images import list_images

    for name in list_images(Path(args.root)):
        out.print(name)
    return 0


def cmd_datasources_list(args: argparse.Namespace) -> int:
    from huntline.fetch.diagnose import list_sources

    sources = list_sources(profiles_file=Path(args.profiles) if args.profiles else None)
    if not sources:
        err.print(
            "no stix-shifter profiles: set STIXSHIFTER_<NAME>_CONNECTOR/_CONNECTION/_CONFIG, or "
            "write profiles.NAME.{connector, connection, config} in stixshifter.yaml"
        )
        return 0
    table = Table(show_header=True)
    for column in ("profile", "connector", "where", "defined in", "status"):
        table.add_column(column, overflow="fold")
    for source in sources:
        status = source.problem or ("ok" if source.installed else "module not installed")
        table.add_row(source.name, source.connector, source.where, source.origin, status)
    out.print(table)
    return 0


def cmd_datasources_check(args: argparse.Namespace) -> int:
    import asyncio

    from huntline.fetch.diagnose import check_source

    report = asyncio.run(
        check_source(args.profile, profiles_file=Path(args.profiles) if args.profiles else None)
    )
    for line in report.lines():
        (out if report.ok else err).print(line, markup=False)
    return 0 if report.ok else 1


def cmd_server(args: argparse.Namespace) -> int:
    from huntline.server import ensure_server, running_local_server, state_dir, stop_local_server

    home = state_dir() / "prefect"
    if args.action == "start":
        started = ensure_server(progress=lambda message: err.print(message))
        out.print(f"Prefect UI: {started.ui_url}")
    elif args.action == "stop":
        out.print("stopped" if stop_local_server(home) else "no local server was running")
    else:
        running = running_local_server(home)
        out.print(f"running: {running.ui_url}" if running else "not running")
        return 0 if running else 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huntline", description="Hunting-as-code: run YAML hunt books as Prefect flows."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check hunt books; exits 1 on any problem")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.set_defaults(handler=cmd_validate)

    window = argparse.ArgumentParser(add_help=False)
    window.add_argument("--start", type=_timestamp, help="window start (ISO 8601, UTC if no zone)")
    window.add_argument("--stop", type=_timestamp, help="window stop (ISO 8601)")
    window.add_argument("--json", action="store_true", help="print a machine-readable summary")

    compile_ = commands.add_parser(
        "compile",
        parents=[window],
        help="show the task graph, queries and images (touches nothing)",
    )
    compile_.add_argument("book", metavar="BOOK")
    compile_.add_argument("--explain", action="store_true", help="explain the plan (the default)")
    compile_.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", parents=[window], help="run a hunt book through Prefect")
    run.add_argument("book", metavar="BOOK")
    run.add_argument(
        "--storage",
        help="file://DIR or s3://BUCKET/PREFIX (default: HUNTLINE_STORAGE "
        "or file://.huntline/store)",
    )
    run.add_argument("--dry-run", action="store_true", help="compute alerts but deliver none")
    run.set_defaults(handler=cmd_run)

    images = commands.add_parser("images", help="build the analytics images").add_subparsers(
        dest="images_command", required=True
    )
    build = images.add_parser("build", help="build analytics_images/NAME (all when no NAME)")
    build.add_argument("name", nargs="?", metavar="NAME")
    build.add_argument("--root", default="analytics_images", help="folder of the image folders")
    build.add_argument("--base-image", help="base image (default python:3.11-slim)")
    build.add_argument("--ca-bundle", help="extra CA bundle for pip inside the build (TLS proxies)")
    build.add_argument("-v", "--verbose", action="store_true", help="show the build output")
    build.set_defaults(handler=cmd_images_build)
    listing = images.add_parser("list", help="list the image folders")
    listing.add_argument("--root", default="analytics_images")
    listing.set_defaults(handler=cmd_images_list)

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

    server = commands.add_parser("server", help="the local Prefect server")
    server.add_argument("action", choices=["start", "stop", "status"])
    server.set_defaults(handler=cmd_server)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BookError as error:
        err.print("[red]error:[/]", end=" ")
        err.print(error.message, markup=False)
        for problem in error.problems:
            err.print(f"  {problem}", markup=False)
        return 1
    except HuntlineError as error:
        err.print("[red]error:[/]", end=" ")
        err.print(str(error), markup=False)
        return 1
    except Exception:
        return _crash()


def _crash() -> int:
    from huntline.server import state_dir

    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"crash-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    log.write_text(traceback.format_exc())
    err.print(f"[red]unexpected error[/]: {sys.exc_info()[1]}\n  traceback written to {log}")
    return 3


if __name__ == "__main__":
    sys.exit(main())
