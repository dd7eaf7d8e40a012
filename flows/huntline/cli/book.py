"""``huntline validate|compile|run``: the commands that take a hunt book, or a rule pack
(:mod:`huntline.cli.pack`; ``huntline pack validate|run`` are their aliases)."""

from __future__ import annotations

import argparse
import functools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from huntline.cli.console import (
    add_json_option,
    add_storage_option,
    err,
    escape,
    new_table,
    out,
    print_error,
    quiet_expected_errors,
    timestamp,
)
from huntline.cli.pack import cmd_pack_compile, cmd_pack_run, is_pack, validate_pack
from huntline.errors import BookError, HuntlineError

if TYPE_CHECKING:
    from huntline.prefect.hunt_flow import RunSummary


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from huntline.analytics.known_images import KnownImages
    from huntline.book.files import TESTS_SUFFIX
    from huntline.cli.folders import files_to_validate
    from huntline.cli.host_checks import host_findings, prefect_secret_blocks
    from huntline.compile import prepare_hunt
    from huntline.steps.book_checks import step_warnings

    failures = 0
    now = datetime.now(UTC)
    images, blocks = functools.cache(KnownImages.scan), functools.cache(prefect_secret_blocks)
    for path in files_to_validate(args.paths):
        try:
            # Each kind of file's checker is imported when one is met: validate starts quickly.
            if path.endswith(TESTS_SUFFIX):  # a book's tests (`hunts/*.yaml` globs them too)
                from huntline.booktest.spec import load_tests

                load_tests(Path(path))
                out.print(f"[green]✓[/] {escape(path)}")
                continue
            if Path(path).name == "intel.yaml":  # the intel feeds, beside the books
                from huntline.intel.model import load_feeds

                load_feeds(path)
                out.print(f"[green]✓[/] {escape(path)}")
                continue
            if is_pack(path):  # a rule pack: it and every member book
                shown, warnings = validate_pack(path, images, blocks)
                out.print(f"[green]✓[/] {escape(shown)}")
                for warning in warnings:
                    out.print(f"  [yellow]warning:[/] {escape(warning)}")
                continue
            hunt = prepare_hunt(path, now)
            if hunt.book.intel is not None:
                from huntline.schedule.specs import check_feeds

                check_feeds(hunt.book, path)
            found = host_findings(hunt.book, path, images, blocks)
            if found.problems:
                count = f"{len(found.problems)} problem{'s' if len(found.problems) > 1 else ''}"
                raise BookError(f"{path}: {count}", problems=found.problems, file=path)
            warnings = [*step_warnings(hunt.book), *found.warnings]
        except HuntlineError as error:  # one file's failure never stops the next file's check
            failures += 1
            print_error(error, lead="[red]✗[/]", where=path)
        else:
            out.print(f"[green]✓[/] {escape(path)}")
            for warning in warnings:
                out.print(f"  [yellow]warning:[/] {escape(warning)}")
    return 1 if failures else 0


def cmd_compile(args: argparse.Namespace) -> int:
    from huntline.compile import explain, prepare_hunt

    if is_pack(args.book):
        return cmd_pack_compile(args)

    hunt = prepare_hunt(args.book, datetime.now(UTC), args.start, args.stop)
    book = hunt.book
    rows = explain(hunt.plan, hunt.windows)
    if args.json:
        print(json.dumps({"hunt": str(book.id), "title": book.title, "tasks": rows}, indent=2))
        return 0
    # Patterns, conditions and titles are user text full of [...]: escaped, or rich eats them.
    table = new_table(title=escape(f"{book.title} ({book.id})"), show_lines=True)
    for column in ("task", "after", "writes", "does"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape(row[column]) for column in ("task", "after", "writes", "does")))
    out.print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from huntline.compile import prepare_hunt
    from huntline.prefect.server import ensure_server
    from huntline.schedule.prepare import checked_hunt

    if is_pack(args.book):  # a pack runs in this process: one fetch, then every member
        return cmd_pack_run(args)
    # Fail on a broken book before any server or flow run is involved; the flow then runs
    # this very read and plan (checked_hunt), not the file read again.
    checked = prepare_hunt(args.book, datetime.now(UTC), args.start, args.stop)
    server = ensure_server(progress=lambda message: err.print(f"[dim]{escape(message)}[/]"))
    from huntline.prefect.client import flow_result
    from huntline.prefect.hunt_flow import hunt

    quiet_expected_errors()
    with checked_hunt(checked):
        state = hunt(
            book=args.book,
            start=args.start,
            stop=args.stop,
            dry_run=args.dry_run,
            storage=args.storage,
            source=args.source,
            indicators=args.indicators,
            return_state=True,
        )
    flow_run_id = str(state.state_details.flow_run_id)
    url = server.flow_run_url(flow_run_id)
    summary: RunSummary = flow_result(state, url, "hunt")
    if args.json:
        print(json.dumps({**summary.model_dump(mode="json"), "flow_run_url": url}, indent=2))
        return 0
    _print_summary(summary, url)
    return 0


def _print_summary(summary: RunSummary, url: str) -> None:
    out.print(f"\n[bold]{escape(summary.title)}[/]: {escape(_outcome(summary))}")
    for warning in summary.warnings:
        out.print(f"[yellow]warning:[/] {escape(warning)}")
    if summary.alerts:
        from huntline.alert.views import alert_status

        status = alert_status(summary.delivery, summary.dry_run)
        table = new_table(show_header=True)
        columns = ("severity", "title", "entity", *(("delivery",) if summary.delivery else ()))
        for column in columns:
            table.add_column(column, overflow="fold")
        for alert in summary.alerts:
            cells = (alert.severity, alert.title, alert.entity_id or "-", status(alert.alert_id))
            table.add_row(*map(escape, cells[: len(columns)]))
        out.print(table)
    if summary.delivery and summary.delivery.pending:
        pending = ", ".join(key[:12] for key in summary.delivery.pending)
        out.print(
            f"[yellow]warning:[/] {len(summary.delivery.pending)} alert(s) stay pending for the "
            f"next run: {escape(pending)} (huntline alerts list --status pending)"
        )
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


def _outcome(summary: RunSummary) -> str:
    """What the run produced, in one line: its alerts, or its tables when it has no alert."""
    if summary.has_alert:
        verb = "would raise" if summary.dry_run else "raised"
        return f"{verb} {summary.alert_count} alert(s)"
    tables = ", ".join(f"{name} ({ref.rows} rows)" for name, ref in summary.tables.items())
    return f"no alert section, so no alerts; the run produced {tables}"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``validate``, ``compile`` and ``run``."""
    validate = commands.add_parser("validate", help="check hunt books; exits 1 on any problem")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.set_defaults(handler=cmd_validate)

    window = argparse.ArgumentParser(add_help=False)
    window.add_argument("--start", type=timestamp, help="window start (ISO 8601, UTC if no zone)")
    window.add_argument("--stop", type=timestamp, help="window stop (ISO 8601)")
    add_json_option(window)

    compile_ = commands.add_parser(
        "compile",
        parents=[window],
        help="show the task graph, queries and images (touches nothing)",
    )
    compile_.add_argument("book", metavar="BOOK")
    compile_.add_argument("--explain", action="store_true", help="explain the plan (the default)")
    compile_.set_defaults(handler=cmd_compile)

    run_options = argparse.ArgumentParser(add_help=False)
    add_storage_option(run_options)
    run_options.add_argument(
        "--dry-run", action="store_true", help="compute alerts but deliver none"
    )
    run_options.add_argument(
        "--source", help="data source for every get step instead of the book's"
    )
    run = commands.add_parser(
        "run",
        parents=[window, run_options],
        help="run a hunt book through Prefect, or a pack (one fetch, every member; exit 1 if a "
        "member failed)",
    )
    run.add_argument("book", metavar="BOOK")
    run.add_argument(
        "--indicators",
        type=_indicators,
        metavar="JSON",
        help="a retro-hunt: indicators by type for the book's {{ intel.TYPE }} patterns, "
        'e.g. \'{"ipv4": ["1.2.3.4"]}\'',
    )
    run.set_defaults(handler=cmd_run)

    pack = commands.add_parser(
        "pack", help="rule packs: many books sharing one fetch per source and window"
    ).add_subparsers(dest="pack_command", required=True)
    pack_validate = pack.add_parser("validate", help="huntline validate PACK")
    pack_validate.add_argument("paths", nargs="+", metavar="PACK")
    pack_validate.set_defaults(handler=cmd_validate)
    pack_run = pack.add_parser("run", parents=[window, run_options], help="huntline run PACK")
    pack_run.add_argument("book", metavar="PACK")
    pack_run.set_defaults(handler=cmd_run)


def _indicators(text: str) -> dict[str, list[str]]:
    """An ``argparse`` type: a JSON object of indicator lists by type."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from error
    if not isinstance(value, dict) or not all(
        isinstance(values, list) and all(isinstance(v, str) for v in values)
        for values in value.values()
    ):
        raise argparse.ArgumentTypeError('expected {"TYPE": ["value", ...]}')
    return value
