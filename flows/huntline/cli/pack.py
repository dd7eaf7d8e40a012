"""Rule packs on the command line (:mod:`huntline.packs`): ``huntline validate``, ``compile``,
``run``, ``coverage`` and ``backfill`` take a pack file wherever they take a book, and hand it
here (:func:`is_pack`); ``huntline pack validate|run PACK`` are the same commands by their old
names (:mod:`huntline.cli.book` adds them). A pack file is told from a book by its name
(``*.pack.yaml``) or its ``pack:`` key."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from huntline.cli.console import escape, new_table, out

if TYPE_CHECKING:
    from huntline.analytics.known_images import KnownImages
    from huntline.cli.host_checks import SecretBlocks
    from huntline.packs import Pack
    from huntline.packs.cover import Cover
    from huntline.window import Window

PACK_SUFFIXES = (".pack.yaml", ".pack.yml")
_PACK_KEY = re.compile(r"^pack:", re.MULTILINE)


def is_pack(path: str) -> bool:
    """Whether ``path`` names a pack file: ``*.pack.yaml``, or a YAML file with a top-level
    ``pack:`` key (a book never has one)."""
    if path.endswith(PACK_SUFFIXES):
        return True
    file = Path(path)
    if file.suffix not in (".yaml", ".yml") or not file.is_file():
        return False
    try:
        return bool(_PACK_KEY.search(file.read_text(errors="replace")))
    except OSError:
        return False


def validate_pack(
    path: str,
    images: Callable[[], KnownImages],
    blocks: Callable[[], SecretBlocks | None],
) -> tuple[str, list[str]]:
    """Check a pack and every member as ``huntline validate`` checks a book; return the line
    to print and the members' warnings.

    Raises:
        PackError: The pack or any member is invalid (every problem, each at its file:line).
    """
    from huntline.cli.host_checks import host_findings
    from huntline.compile import compile_book
    from huntline.errors import CompileError, PackError
    from huntline.packs import load_pack, pack_cover
    from huntline.schedule.specs import check_feeds
    from huntline.steps.book_checks import step_warnings

    pack = load_pack(path)
    problems: list[str] = []
    warnings: list[str] = []
    for member in pack.members:
        file = str(member.path)
        try:
            compile_book(member.book)
            check_feeds(member.book, file)
        except (CompileError, PackError) as error:
            problems.append(f"member {file}: {error}")
        found = host_findings(member.book, file, images, blocks)
        problems.extend(f"member {problem}" for problem in found.problems)
        warnings.extend(f"{file}: {w}" for w in (*step_warnings(member.book), *found.warnings))
    if problems:
        raise PackError(f"{path}: invalid pack", problems=problems, file=path)
    spec, cover = pack.spec, pack_cover(pack)
    warnings.extend(_reach_warnings(pack, cover))
    line = (
        f"{path}: pack {spec.pack}, {len(pack.members)} member(s), {spec.entity} from "
        f"{spec.source}, fetched as {cover.kind} ({len(cover.queries)} quer"
        f"{'y' if len(cover.queries) == 1 else 'ies'})"
    )
    return line, warnings


def _reach_warnings(pack: Pack, cover: Cover) -> list[str]:
    """What the pack's stix-shifter source cannot map of each member (:mod:`huntline.packs.cover`):
    a member nothing of which maps fails each run, one partly mapped fetches only the rest."""
    nones = (None,) * len(pack.members)
    found = []
    for member, error, part in zip(
        pack.members, cover.failed or nones, cover.narrowed or nones, strict=True
    ):
        if error is not None:
            found.append(f"{error.splitlines()[0]}; each run reports this member failed")
        elif part is not None:
            found.append(
                f"{member.path}: data source {pack.spec.source!r} maps only part of the pattern; "
                f"it fetches {part}, in a pack as alone"
            )
    return found


def cmd_pack_compile(args: argparse.Namespace) -> int:
    """``huntline compile PACK``: the one fetch (its queries, and why that kind) and the
    members, touching no source."""
    from huntline.fetch.sources.pattern import with_window
    from huntline.packs import load_pack, pack_cover, pack_window

    pack = load_pack(args.book)
    window = pack_window(pack, datetime.now(UTC), args.start, args.stop)
    spec, cover = pack.spec, pack_cover(pack)
    queries = [with_window(query, window) for query in cover.queries]
    members = [
        {
            "hunt": str(m.book.id),
            "title": m.book.title,
            "file": str(m.path),
            "selects": m.get.where,
            "steps": len(m.book.steps),
            "alert": m.book.alert is not None,
        }
        for m in pack.members
    ]
    if args.json:
        fetch = {"entity": spec.entity, "source": spec.source, "cover": cover.kind,
                 "why": cover.reason, "queries": queries}  # fmt: skip
        document = {"pack": spec.pack, "title": spec.title, "fetch": fetch, "members": members}
        print(json.dumps(document, indent=2))
        return 0
    out.print(
        f"{spec.title} ({spec.pack}): one fetch of {spec.entity} from {spec.source} over "
        f"{window.start.isoformat()} .. {window.stop.isoformat()}, as {cover.kind}: "
        f"{cover.reason}",
        markup=False,
    )
    for number, query in enumerate(queries, 1):
        out.print(f"  query {number}: {query}", markup=False)
    table = new_table(title=escape(f"{len(members)} member(s), each over the fetched rows"))
    for column in ("member", "selects", "then"):
        table.add_column(column, overflow="fold")
    for member, m in zip(members, pack.members, strict=True):
        steps, alert = m.book.steps, m.book.alert
        then = f"{len(steps) - 1} more step(s)" + (", alert" if alert is not None else "")
        table.add_row(escape(f"{member['title']} ({member['file']})"),
                      escape(str(member["selects"])), then)  # fmt: skip
    out.print(table)
    return 0


def cmd_pack_run(args: argparse.Namespace) -> int:
    """``huntline run PACK`` (and ``pack run``): fetch once, run every member; exit 1 if a
    member failed."""
    from rich.markup import escape as escape_markup
    from rich.table import Table

    from huntline.errors import PackError
    from huntline.packs import load_pack, run_pack

    if getattr(args, "indicators", None):
        raise PackError(
            f"{args.book}: --indicators fills one book's {{{{ intel.TYPE }}}} patterns; a "
            "pack takes none",
            hint="run the retro-hunt on the member book",
        )
    pack = load_pack(args.book)
    report = run_pack(
        pack, args.storage, datetime.now(UTC), start=args.start, stop=args.stop,
        dry_run=args.dry_run, source=args.source,
    )  # fmt: skip
    if args.json:
        print(json.dumps(report.record(), indent=2))
    else:
        out.print(
            f"{report.pack}: one fetch ({report.cover.kind}, {len(report.cover.queries)} "
            f"quer{'y' if len(report.cover.queries) == 1 else 'ies'}) of {report.fetched.rows} "
            f"rows in {report.fetch_seconds:.1f} s ({report.fetched.uri})",
            markup=False,
        )
        table = Table(show_header=True)
        for column in ("member", "rows matched", "alerts", "time", "error"):
            table.add_column(column, overflow="fold")
        for member in report.members:
            cells = (member.title, str(member.rows), str(len(member.alerts)),
                     f"{member.seconds:.2f} s", member.error or "")  # fmt: skip
            table.add_row(*(escape_markup(cell) for cell in cells))
        out.print(table)
    return 1 if any(member.error for member in report.members) else 0


def pack_identity(path: str) -> tuple[str, str]:
    """``(id, title)`` of the pack file at ``path`` (its members not read)."""
    from huntline.packs import read_pack_file

    spec = read_pack_file(path)
    return spec.pack, spec.title


def pack_backfill_runner(args: argparse.Namespace) -> Callable[[Window], bool]:
    """What ``huntline backfill PACK`` runs per window: the pack run, in this process (a pack
    run needs no Prefect server); a window counts as failed when a member failed (the pack's
    coverage records it all the same, the failed member's own record does not)."""
    from huntline.packs import load_pack, run_pack

    pack: Pack = load_pack(args.book)

    def run_window(window: Window) -> bool:
        report = run_pack(
            pack, args.storage, datetime.now(UTC), start=window.start, stop=window.stop
        )
        return not any(member.error for member in report.members)

    return run_window
