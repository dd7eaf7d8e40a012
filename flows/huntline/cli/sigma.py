"""``huntline sigma convert|coverage``: Sigma rules as hunt books, and how many convert."""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from huntline.cli.console import err, out


def cmd_convert(args: argparse.Namespace) -> int:
    from huntline.sigma.books import write_book
    from huntline.sigma.convert import convert_paths

    into = Path(args.into)
    states: Counter[str] = Counter()
    failures = []
    for result in convert_paths(Path(path) for path in args.rules):
        if result.conversion is None:
            failures.append(result)
            continue
        state = write_book(
            result, into, source=args.source, schedule=args.schedule, window=args.window
        )
        states[state] += 1
    converted = sum(states.values())
    out.print(
        f"{converted} books in {into} ({states['created']} created, {states['updated']} "
        f"updated, {states['unchanged']} unchanged); {len(failures)} rules not converted"
    )
    for failure in failures:
        assert failure.error is not None
        err.print(f"  ✗ {failure.error.message}", markup=False)
    return 0 if converted or not failures else 1


def coverage(paths: list[Path]) -> dict[str, Any]:
    """Per log source and overall: rules, converted, and the failures grouped by reason."""
    from huntline.sigma.convert import convert_paths

    sources: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: dict[str, list[str]] = defaultdict(list)
    connector: dict[str, list[str]] = {}
    for result in convert_paths(paths):
        counts = sources[result.logsource]
        counts["rules"] += 1
        if result.conversion is not None:
            counts["converted"] += 1
            if result.conversion.connector_fields:
                connector[str(result.path)] = list(result.conversion.connector_fields)
        else:
            assert result.error is not None
            reasons[str(result.error.context["reason"])].append(result.error.message)
    total = sum(counts["rules"] for counts in sources.values())
    converted = sum(counts["converted"] for counts in sources.values())
    return {
        "rules": total,
        "converted": converted,
        "log_sources": {
            source: {"rules": counts["rules"], "converted": counts["converted"]}
            for source, counts in sorted(sources.items(), key=lambda item: -item[1]["rules"])
        },
        "failures": {
            reason: {"count": len(messages), "rules": messages}
            for reason, messages in sorted(reasons.items(), key=lambda item: -len(item[1]))
        },
        "connector_fields": connector,
    }


def cmd_coverage(args: argparse.Namespace) -> int:
    report = coverage([Path(path) for path in args.paths])
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    share = report["converted"] / report["rules"] if report["rules"] else 0.0
    out.print(f"{report['converted']} of {report['rules']} rules convert ({share:.1%})")
    for source, counts in report["log_sources"].items():
        part = counts["converted"] / counts["rules"]
        out.print(f"  {source:45} {counts['converted']:5} / {counts['rules']:<5} {part:6.1%}")
    out.print("not converted, by reason:")
    for reason, group in report["failures"].items():
        out.print(f"  {reason}: {group['count']}", markup=False)
        for message in group["rules"][:3]:
            out.print(f"    {message}", markup=False)
    depending = len(report["connector_fields"])
    out.print(
        f"{depending} converted rules read x_ properties that only some connectors fill "
        "(--json lists them per rule)"
    )
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    sigma = commands.add_parser("sigma", help="Sigma rules as hunt books")
    sub = sigma.add_subparsers(dest="sigma_command", required=True)
    convert = sub.add_parser(
        "convert", help="write one hunt book per Sigma rule (book id = rule id; idempotent)"
    )
    convert.add_argument("rules", nargs="+", metavar="RULE_OR_DIR")
    convert.add_argument("--into", required=True, help="the folder the books go to")
    convert.add_argument("--source", default="edr", help="the data source of every get step")
    convert.add_argument("--schedule", metavar="CRON", help="run each book on this cron (UTC)")
    convert.add_argument("--window", metavar="DURATION", help="each run's look-back, e.g. 1h")
    convert.set_defaults(handler=cmd_convert)
    report = sub.add_parser("coverage", help="how many rules convert, per log source and why not")
    report.add_argument("paths", nargs="+", metavar="DIR")
    report.add_argument("--json", action="store_true", help="machine-readable, with every rule")
    report.set_defaults(handler=cmd_coverage)
