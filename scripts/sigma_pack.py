"""Regenerate hunts/sigma/, the Sigma pack: SigmaHQ's Windows process-creation rules that
convert, agree with pySigma's SQLite backend on the OTRF recordings and pass their generated
tests, each as a book with its tests; the others listed in the folder's README with the reason.

    PYTHONPATH=flows .venv/bin/python scripts/sigma_pack.py [--data ../shared/data] \\
        [--into hunts/sigma] [--only-firing]

A rule is shipped when all of these hold, checked in this order (the first that fails is its
reason in the README):

1. it converts (``huntline sigma convert``);
2. rows can be generated from its selections (:mod:`huntline.sigma.cases`), so it has tests;
3. on every OTRF recording, huntline's matches equal the SQLite backend's, whether the rule
   fires there or not (``bench/sigma_agreement.py``, item 3 of issue 24);
4. its generated positive and negative cases pass through the pack's path
   (``huntline test hunts/packs/sigma_processes.pack.yaml``, item 4).

``--only-firing`` keeps only the rules that fire on some recording. The output depends on the
rules and the recordings only (sorted, no timestamps), so running it again changes nothing;
books of rules no longer shipped are removed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from sigma_agreement import compare

from huntline.book.files import TESTS_SUFFIX
from huntline.booktest.pack_cases import run_pack_cases
from huntline.booktest.spec import load_tests
from huntline.packs import load_pack
from huntline.sigma.books import tests_text, write_book
from huntline.sigma.convert import RuleResult, convert_paths

RULES = Path("rules/windows/process_creation")
PACK = """pack: sigma-processes
title: Sigma process-creation rules
source: edr
entity: process
window: {last: 35m}
members: members/
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    default = os.environ.get("HUNTLINE_SHARED_DATA") or root.parent / "shared" / "data"
    parser.add_argument("--data", default=str(default), help="shared/data (otrf/, sigma/)")
    parser.add_argument("--into", default=str(root / "hunts" / "sigma"))
    parser.add_argument("--only-firing", action="store_true", help="rules that fire somewhere")
    args = parser.parse_args()
    data, into = Path(args.data).resolve(), Path(args.into).resolve()
    # rule paths relative to the Sigma checkout: each book's header names its rule so
    os.chdir(data / "sigma")
    results = list(convert_paths([RULES]))
    excluded: dict[str, str] = {}
    candidates: list[RuleResult] = []
    for result in results:
        if result.conversion is None:
            assert result.error is not None
            excluded[result.path.name] = f"does not convert: {result.error.context['reason']}"
        elif tests_text(result) is None:
            excluded[result.path.name] = "no rows can be generated from its selections"
        else:
            candidates.append(result)
    print(f"{len(results)} rules, {len(candidates)} convert with tests; agreement...", flush=True)
    fires: dict[str, list[str]] = defaultdict(list)
    recordings = sorted((data / "otrf").glob("*.zip"))
    for recording, result, ours, theirs in compare(recordings, candidates):
        name = result.path.name
        if ours != theirs and name not in excluded:
            excluded[name] = (
                f"differs from the SQLite backend on {recording} ({len(ours)} vs "
                f"{len(theirs)} processes; reads {', '.join(result.conversion.columns)})"  # type: ignore[union-attr]
            )
        if theirs:
            fires[name].append(recording)
    kept = [r for r in candidates if r.path.name not in excluded]
    if args.only_firing:
        for result in kept:
            if result.path.name not in fires:
                excluded[result.path.name] = "fires on no OTRF recording (--only-firing)"
        kept = [r for r in kept if r.path.name in fires]
    print(f"{len(kept)} agree; their generated tests through the pack...", flush=True)
    failed = _failing_tests(kept)
    for name, reason in failed.items():
        excluded[name] = reason
    kept = [r for r in kept if r.path.name not in failed]
    _write_folder(into, kept, excluded, fires, data, args.only_firing)
    print(f"{len(kept)} books in {into}; {len(excluded)} rules excluded (see its README)")
    return 0


def _failing_tests(kept: list[RuleResult]) -> dict[str, str]:
    """Rule file -> why its generated cases fail, run as the pack runs them."""
    with tempfile.TemporaryDirectory() as scratch:
        members = Path(scratch) / "members"
        for result in kept:
            write_book(result, members, source="edr", schedule=None)
        (Path(scratch) / "p.pack.yaml").write_text(PACK, encoding="utf-8")
        pack = load_pack(Path(scratch) / "p.pack.yaml")
        files = [load_tests(path) for path in sorted(members.glob(f"*{TESTS_SUFFIX}"))]
        failed: dict[str, str] = {}
        for case in run_pack_cases(pack, files):
            if not case.passed:
                name = Path(case.book).stem + ".yml"
                failed.setdefault(name, f"generated test fails: {case.case}: {case.differences}")
    return failed


def _write_folder(
    into: Path,
    kept: list[RuleResult],
    excluded: dict[str, str],
    fires: dict[str, list[str]],
    data: Path,
    only_firing: bool,
) -> None:
    wanted = set()
    for result in kept:
        write_book(result, into, source="edr", schedule=None)
        wanted |= {f"{result.path.stem}.yaml", f"{result.path.stem}{TESTS_SUFFIX}"}
    for stale in into.glob("*.yaml"):
        if stale.name not in wanted:
            stale.unlink()
    (into / "README.md").write_text(_readme(kept, excluded, fires, only_firing), encoding="utf-8")


def _readme(
    kept: list[RuleResult],
    excluded: dict[str, str],
    fires: dict[str, list[str]],
    only_firing: bool,
) -> str:
    firing = [r for r in kept if r.path.name in fires]
    lines = [
        "# hunts/sigma: SigmaHQ process-creation rules as hunts",
        "",
        f"{len(kept)} rules of [SigmaHQ/sigma](https://github.com/SigmaHQ/sigma) (commit "
        f"8eaafff, `{RULES}/`), each converted into a book (`huntline sigma convert`) with its "
        "generated tests (`*.tests.yaml`). They run as one pack, "
        "`hunts/packs/sigma_processes.pack.yaml`: one fetch of every process per window, each "
        "rule then evaluated locally with its own alerts and ledger.",
        "",
        "This folder is generated; do not edit it by hand. Regenerate it with",
        "",
        "```bash",
        "PYTHONPATH=flows .venv/bin/python scripts/sigma_pack.py"
        + (" --only-firing" if only_firing else ""),
        "```",
        "",
        "which ships a rule when it converts, rows can be generated from its selections, its "
        "matches equal those of pySigma's SQLite backend on every OTRF recording in "
        "`shared/data/otrf` (whether it fires there or not), and its generated positive and "
        "negative cases pass (`huntline test hunts/packs/sigma_processes.pack.yaml`)"
        + (", and it fires on some recording." if only_firing else "."),
        "",
        "**Licence.** The rules are SigmaHQ's, under the "
        "[Detection Rule License (DRL) 1.1](https://github.com/SigmaHQ/Detection-Rule-License): "
        "whoever ships or quotes a rule keeps its author (the `author` field of each book) and a "
        "reference to SigmaHQ (the header of each book names the rule file). Keep both when you "
        "copy these books.",
        "",
        f"## Rules that fire on the OTRF recordings ({len(firing)})",
        "",
        "| book | rule author | fires on (OTRF) |",
        "|---|---|---|",
    ]
    for result in firing:
        author = str(result.rule.author if result.rule else "").replace("|", "/")
        where = ", ".join(name.removesuffix(".zip") for name in fires[result.path.name])
        lines.append(f"| `{result.path.stem}` | {author} | {where} |")
    lines += [
        "",
        f"## Rules not shipped ({len(excluded)})",
        "",
        "| rule | reason |",
        "|---|---|",
    ]
    for name in sorted(excluded):
        reason = excluded[name].replace("|", "/").replace("\n", " ")
        lines.append(f"| `{name}` | {reason} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
