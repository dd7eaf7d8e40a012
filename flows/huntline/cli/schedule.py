"""``huntline deploy`` and ``huntline coverage``: hunts that run without a person."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huntline.cli.console import (
    add_json_option,
    add_storage_option,
    err,
    escape,
    new_table,
    out,
    quiet_expected_errors,
    timestamp,
)

if TYPE_CHECKING:
    from rich.table import Table

    from huntline.window import Window

DEFAULT_POOL = "huntline"


def cmd_deploy(args: argparse.Namespace) -> int:
    from huntline.prefect.client import sync_client, worker_online
    from huntline.prefect.deploy import apply_changes, plan_changes
    from huntline.prefect.server import ensure_server
    from huntline.schedule.ownership import project_of
    from huntline.schedule.preflight import source_warnings
    from huntline.schedule.project import PROJECT, render_project
    from huntline.schedule.specs import load_specs, render_specs

    project = project_of(Path(args.hunts), args.project)
    specs = load_specs(project.books, project.root, project)  # a broken book fails first
    # The generated files: deployments/NAME.yaml, and prefect.yaml for the default project.
    files = {project.generated: render_specs(specs)}
    if project.is_default:
        files[project.root / PROJECT] = render_project(specs, args.pool)
    written = " and ".join(_shown(path) for path in files)
    if args.write_only:
        _write(files)
        out.print(f"written {written} ({len(specs)} deployments); nothing registered")
        return 0
    server = ensure_server(progress=lambda message: err.print(f"[dim]{escape(message)}[/]"))
    with sync_client() as client:
        changes = plan_changes(client, specs, project)
        if not args.dry_run:
            _write(files)
            apply_changes(client, changes, project.root, args.pool)
        worker = None if args.dry_run else worker_online(client, args.pool)
    out.print(_changes_table(changes, project.name, server.ui_url, args.dry_run))
    if not args.dry_run:
        out.print(f"written {written}")
        out.print(
            f"a worker polls the {args.pool} pool ({worker}): the deployments run there"
            if worker
            else f"no worker polls the {args.pool} pool: start one with huntline server start"
        )
    else:
        for path, text in files.items():
            if not path.is_file() or path.read_text() != text:
                out.print(
                    f"{_shown(path)} is out of date: huntline deploy --write-only rewrites it"
                )
    for warning in source_warnings(specs, project.root):
        err.print("[yellow]warning:[/]", escape(warning))
    return 0


def _changes_table(changes: list[Any], project: str, ui_url: str, dry_run: bool) -> Table:
    """The changes as a table whose title says what happened: nothing, when all are unchanged."""
    changed = sum(change.action != "unchanged" for change in changes)
    if not changed:
        title = f"deployments of project {project} on {ui_url}: nothing to change"
    else:
        verb = "would change" if dry_run else "changed"
        title = f"deployments of project {project} on {ui_url} ({changed} {verb})"
    table = new_table(title=escape(title))
    for column in ("action", "deployment", "schedule", "triggers"):
        table.add_column(column, overflow="fold")
    for change in changes:
        spec = change.spec
        schedule = f"{spec.cron} ({spec.timezone})" if spec and spec.cron else "-"
        triggers = ", ".join(f"intel {feed}" for feed in spec.feeds) if spec else "-"
        table.add_row(change.action, escape(change.name), escape(schedule), escape(triggers))
    return table


def _shown(path: Path) -> str:
    """``path`` as the user reads it: relative to the current directory when inside it."""
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _write(files: dict[Path, str]) -> None:
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def cmd_coverage(args: argparse.Namespace) -> int:
    from huntline.cli.pack import is_pack, pack_identity
    from huntline.schedule.coverage import load_coverage
    from huntline.steps.book_checks import load_hunt
    from huntline.storage import open_store

    if is_pack(args.book):  # a pack's runs cover windows under the pack's id
        hunt_id, title = pack_identity(args.book)
    else:
        book = load_hunt(args.book)
        hunt_id, title = str(book.id), book.title
    coverage = load_coverage(open_store(args.storage), hunt_id)
    # Gaps are the holes between the first and the last covered instant.
    gaps = coverage.gaps(coverage.span) if coverage.span else []
    if args.json:
        document = {
            "hunt": hunt_id,
            "covered": [[a.isoformat(), b.isoformat()] for a, b in coverage.intervals],
            "gaps": [[g.start.isoformat(), g.stop.isoformat()] for g in gaps],
        }
        print(json.dumps(document, indent=2))
        return 0
    table = new_table(title=f"coverage of {escape(title)}")
    table.add_column("from")
    table.add_column("to")
    table.add_column("")
    rows = [(a, b, "[green]covered[/]") for a, b in coverage.intervals]
    rows += [(g.start, g.stop, "[red]gap[/]") for g in gaps]
    for start, stop, what in sorted(rows):
        table.add_row(start.isoformat(), stop.isoformat(), what)
    out.print(table if rows else "no run has covered this hunt yet")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from huntline.cli.pack import is_pack
    from huntline.schedule.backfill import BackfillResult, run_planned

    if is_pack(args.book):  # a pack runs in this process, no server: one fetch per window
        planned, run_window, where = _pack_backfill(args)
    else:
        planned, run_window, where = _book_backfill(args)

    columns = (
        TextColumn("backfill"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[note]}"),
    )
    with Progress(*columns, console=err.real) as bar:
        task = bar.add_task("backfill", total=None, note="")

        def show(result: BackfillResult) -> None:
            done = len(result.skipped) + len(result.completed) + len(result.failed)
            note = f"{done}/{len(result.windows)} windows ({len(result.skipped)} already covered"
            note += f", {len(result.failed)} failed)" if result.failed else ")"
            bar.update(task, total=len(result.windows) or 1, completed=done, note=note)

        result = run_planned(
            planned, run_window=run_window, concurrency=args.concurrency, progress=show
        )
    out.print(
        f"backfill of {escape(args.book)}: {len(result.completed)} window(s) run, "
        f"{len(result.skipped)} already covered, {len(result.failed)} failed; {where}"
    )
    for window in result.failed:
        out.print(
            f"  failed: {window.start.isoformat()} .. {window.stop.isoformat()} (rerun to retry)"
        )
    return 1 if result.failed else 0


def _book_backfill(args: argparse.Namespace) -> tuple[Any, Callable[[Window], bool], str]:
    """A book's backfill: its planned windows, each run as a flow run, and where they show."""
    from huntline.prefect.server import ensure_server
    from huntline.schedule.backfill import plan_range

    planned = plan_range(  # a bad range or book fails here, before any server starts
        args.book, args.start, args.stop, concurrency=args.concurrency, storage=args.storage
    )
    server = ensure_server(progress=lambda message: err.print(f"[dim]{escape(message)}[/]"))
    from huntline.prefect.hunt_flow import hunt

    quiet_expected_errors()

    def run_window(window: Window) -> bool:
        state = hunt(
            book=args.book,
            start=window.start,
            stop=window.stop,
            storage=args.storage,
            return_state=True,
        )
        return bool(state.is_completed())

    return planned, run_window, f"runs on {server.ui_url}"


def _pack_backfill(args: argparse.Namespace) -> tuple[Any, Callable[[Window], bool], str]:
    """A pack's backfill: its planned windows (by the pack's look-back and coverage record),
    each a pack run in this process (huntline runs list shows the members' runs)."""
    from huntline.cli.pack import pack_backfill_runner
    from huntline.errors import ScheduleError
    from huntline.packs import read_pack_file
    from huntline.schedule.backfill import plan_windows

    if args.concurrency < 1:
        raise ScheduleError(f"--concurrency must be at least 1, got {args.concurrency}")
    spec = read_pack_file(args.book)
    planned = plan_windows(spec.pack, spec, args.start, args.stop, storage=args.storage)
    return planned, pack_backfill_runner(args), "pack runs in this process (huntline runs list)"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``deploy`` and ``coverage``."""
    deploy = commands.add_parser(
        "deploy", help="register one deployment per hunt book (and the intel watcher)"
    )
    mode = deploy.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show what would change")
    mode.add_argument(
        "--write-only",
        action="store_true",
        help="only write deployments/huntline.yaml and prefect.yaml from the books (no server "
        "needed)",
    )
    deploy.add_argument(
        "--hunts", default="hunts", help="the folder of hunt books, anywhere (hunts)"
    )
    deploy.add_argument(
        "--project",
        help="the owner of these deployments: a deploy removes only its own "
        "(default: the folder's path from here, or its name when outside)",
    )
    deploy.add_argument("--pool", default=DEFAULT_POOL, help="work pool (huntline)")
    deploy.set_defaults(handler=cmd_deploy)

    backfill = commands.add_parser(
        "backfill", help="run a hunt or a pack over a past range, window by window (resumable)"
    )
    backfill.add_argument("book", metavar="BOOK_OR_PACK")
    backfill.add_argument("--from", dest="start", type=timestamp, required=True, help="ISO 8601")
    backfill.add_argument("--to", dest="stop", type=timestamp, required=True, help="ISO 8601")
    backfill.add_argument("--concurrency", type=int, default=2, help="windows at once (2)")
    add_storage_option(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    coverage = commands.add_parser(
        "coverage", help="the windows a hunt's (or a pack's) runs covered, and gaps"
    )
    coverage.add_argument("book", metavar="BOOK_OR_PACK")
    add_storage_option(coverage)
    add_json_option(coverage)
    coverage.set_defaults(handler=cmd_coverage)
