"""``huntline test [PATH...]``: run hunt books' test cases and show what differed."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from huntline.cli.console import add_book_paths, add_json_option, err, escape, new_table, out


def cmd_test(args: argparse.Namespace) -> int:
    from huntline.book.files import hunt_files
    from huntline.booktest.cases import discover, run_all
    from huntline.booktest.pack_cases import by_pack, run_pack_cases
    from huntline.packs import load_pack
    from huntline.prefect.server import ensure_server

    if not args.verbose:
        # The flows' logs still reach the Prefect server; the terminal shows the test table.
        # Prefect reads this override of its logging.yml when it configures logging.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    started = time.perf_counter()
    paths = [Path(path) for path in args.paths]
    # A pack member's cases run as the pack runs it: one fetch, the member over its rows.
    pack_paths = hunt_files(paths)[1]
    packs = [load_pack(path) for path in pack_paths]
    books = [path for path in paths if path not in pack_paths]
    files, missing = discover([*books, *(m.path for pack in packs for m in pack.members)])
    if not files and not missing:
        err.print(f"no hunt books or tests files under {', '.join(args.paths)}")
        return 1
    grouped, alone = by_pack(packs, files)
    python = args.runner == "python"
    if alone or any(c.indicators for _, group in grouped for t in group for c in t.tests.cases):
        ensure_server(progress=lambda message: err.print(f"[dim]{message}[/]"))
    results = [*missing, *run_all(alone, python=python)]
    for pack, group in grouped:
        results += run_pack_cases(pack, group, python)
    failed = [result for result in results if not result.passed]
    seconds = time.perf_counter() - started
    if args.json:
        print(
            json.dumps(
                {
                    "passed": not failed,
                    "seconds": round(seconds, 1),
                    "cases": [r.model_dump() for r in results],
                },
                indent=2,
            )
        )
        return 1 if failed else 0
    table = new_table(show_header=True)
    for column in ("book", "case", "result", "alerts", "s"):
        table.add_column(column, overflow="fold")
    for result in results:
        mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
        table.add_row(
            escape(Path(result.book).name),
            escape(result.case),
            mark,
            str(len(result.alerts)),
            f"{result.seconds:.1f}",
        )
    out.print(table)
    for result in failed:
        out.print(f"\n[red]✗[/] {escape(result.book)} › {escape(result.case)}", highlight=False)
        for line in result.differences:
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else ""
            out.print(f"    {line}", style=style, markup=False)
        for title in result.alerts:
            out.print(f"      raised: {title}", markup=False)
    verdict = f"{len(results) - len(failed)} passed, {len(failed)} failed in {seconds:.1f} s"
    out.print(f"\n{'[red]' if failed else '[green]'}{verdict}[/]")
    return 1 if failed else 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    test = commands.add_parser(
        "test",
        help="run hunt books' test cases (BOOK.tests.yaml) through the real flow (a pack's "
        "members through the pack: one fetch); exits 1 on any failure",
    )
    add_book_paths(test, "books, tests files")
    add_json_option(test)
    test.add_argument(
        "--runner",
        choices=["docker", "python"],
        default="docker",
        help="docker: analytics in their images (default); python: in-process, by name",
    )
    test.add_argument("-v", "--verbose", action="store_true", help="show the flows' logs")
    test.set_defaults(handler=cmd_test)
