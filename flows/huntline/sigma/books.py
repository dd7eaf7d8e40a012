"""A converted Sigma rule -> a hunt book, written idempotently.

The book is an ordinary hunt book (so it validates, runs, schedules and joins packs like any
other): its id is the rule's id (both are UUIDs, so alerts and ledgers stay the same across
re-imports), its metadata is the rule's (title, description, author, status, level,
references, false positives, tags), its one ``get`` pushes down the STIX half and its
``alert.when`` is the exact local half. The header names the rule file and SigmaHQ's licence,
which asks that whoever ships a rule keeps its author and a reference to it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from huntline.book.files import TESTS_SUFFIX
from huntline.book.model import TAG
from huntline.sigma.cases import negative_row, observation, positive_row
from huntline.sigma.convert import RuleResult

#: The variable a converted book fetches into.
VARIABLE = "events"
#: Columns an alert shows, where the table has them (per entity).
ALERT_FIELDS = {
    "process": ["name", "pid", "command_line", "parent_ref.name", "creator_user_ref.user_id"],
    "network-traffic": ["src_ref.value", "dst_ref.value", "dst_port", "x_process_path"],
    "file": ["name", "parent_directory_ref.path", "x_process_path"],
    "domain-name": ["value", "x_process_path"],
    "windows-registry-key": ["key", "x_details", "x_process_path"],
}
HEADER = (
    "# Converted by `huntline sigma convert` from the Sigma rule\n"
    "# {path}\n"
    "# Edit the rule and convert again, not this file. Rules from SigmaHQ\n"
    "# (https://github.com/SigmaHQ/sigma) are under the Detection Rule License 1.1\n"
    "# (https://github.com/SigmaHQ/Detection-Rule-License): keep the author and this reference.\n"
)


def book_for(
    result: RuleResult, *, source: str, schedule: str | None, window: str | None = None
) -> dict[str, Any]:
    """The hunt book of a converted rule, as plain data."""
    rule, conversion = result.rule, result.conversion
    assert isinstance(rule, SigmaRule | SigmaCorrelationRule) and conversion is not None
    level = rule.level.name.lower() if rule.level else "medium"
    get: dict[str, Any] = {"get": VARIABLE, "entity": conversion.entity, "from": source}
    if conversion.pattern is not None:
        get["where"] = conversion.pattern
    book: dict[str, Any] = {
        "id": str(rule.id or uuid.uuid5(uuid.NAMESPACE_URL, str(result.path))),
        "title": rule.title,
        "description": (rule.description or "").strip(),
        "author": rule.author or "",
        "status": rule.status.name.lower() if rule.status else "",
        "level": level,
        "references": [str(reference) for reference in rule.references],
        "falsepositives": [str(item) for item in rule.falsepositives],
        "tags": [tag for tag in (str(t).lower() for t in rule.tags) if TAG.match(tag)],
        **({"window": {"last": window}} if window else {}),
        "steps": [get],
        "alert": {
            "on": VARIABLE,
            "when": conversion.condition,
            "severity": level,
            "title": rule.title.replace("{", "(").replace("}", ")"),
            "fields": ALERT_FIELDS.get(conversion.entity, []),
        },
    }
    if result.correlation is not None:  # see huntline.sigma.correlation for the window
        found = result.correlation
        book["window"] = {"last": found.window}
        threshold: dict[str, Any] = {"count": found.count}
        if found.distinct:
            threshold["distinct"] = found.distinct
        grouping = {"group_by": list(found.group_by)} if found.group_by else {}
        book["alert"] |= {**grouping, "threshold": threshold}
    if schedule:
        book["schedule"] = {"cron": schedule, "timezone": "UTC"}
    return book


def book_text(
    result: RuleResult, *, source: str, schedule: str | None, window: str | None = None
) -> str:
    """The book's file text: the licence header, then the book as YAML."""
    body = yaml.safe_dump(
        book_for(result, source=source, schedule=schedule, window=window),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return HEADER.format(path=result.path) + body


def tests_text(result: RuleResult) -> str | None:
    """The book's tests sidecar: a generated positive and negative case (None if the rule's
    rows cannot be generated, see :mod:`huntline.sigma.cases`)."""
    conversion = result.conversion
    assert conversion is not None
    if result.correlation is not None:
        return None  # one generated row proves nothing about a threshold
    positive = positive_row(conversion.condition)
    negative = negative_row(conversion.condition, positive) if positive else None
    if positive is None or negative is None:
        return None
    level = book_for(result, source="edr", schedule=None)["level"]
    cases = [
        {
            "name": "a row built from the rule's selections alerts",
            "data": {VARIABLE: {"objects": [observation(conversion.entity, positive)]}},
            "expect": {"alerts": 1, "all": [f"severity == {level!r}"]},
        },
        {
            "name": "the same row with neutral values does not",
            "data": {VARIABLE: {"objects": [observation(conversion.entity, negative)]}},
            "expect": {"alerts": 0},
        },
    ]
    body = yaml.safe_dump({"cases": cases}, sort_keys=False, allow_unicode=True, width=100)
    return f"# Generated from {result.path.name} by `huntline sigma convert`.\n{body}"


def write_book(
    result: RuleResult,
    into: Path,
    *,
    source: str,
    schedule: str | None,
    window: str | None = None,
) -> str:
    """Write the rule's book as ``INTO/<rule file stem>.yaml``, with its generated tests beside
    it where they can be built: ``created``, ``updated`` or ``unchanged`` (an unchanged book is
    not rewritten, so re-running touches nothing)."""
    target = into / f"{result.path.stem}.yaml"
    tests = tests_text(result)
    if tests is not None:
        _write_if_changed(into / f"{result.path.stem}{TESTS_SUFFIX}", tests, into)
    text = book_text(result, source=source, schedule=schedule, window=window)
    return _write_if_changed(target, text, into)


def _write_if_changed(target: Path, text: str, into: Path) -> str:
    if target.exists():
        if target.read_text(encoding="utf-8") == text:
            return "unchanged"
        state = "updated"
    else:
        state = "created"
    into.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    return state
