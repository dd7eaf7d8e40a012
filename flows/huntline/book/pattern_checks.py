"""Checks of a STIX pattern that its grammar accepts but that cannot run as meant.

The STIX validator accepts any text as a ``MATCHES`` regex and any two timestamps in a
``START ... STOP`` qualifier. huntline matches regexes with RE2 (linear time, see
:mod:`huntline.linear_regex`), so a regex RE2 refuses (``(``, look-around) would only fail
after the fetch, and a START at or after its STOP selects nothing without a word. ``validate``
reports both at the pattern's line.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from stix2patterns.v20.pattern import Pattern
from stix2patterns.validator import run_validator

from huntline.linear_regex import HINT, regex_problem

_TEXT_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")
_UNESCAPE = re.compile(r"\\(.)")
_START_STOP = re.compile(r"START\s+t'([^']*)'\s+STOP\s+t'([^']*)'", re.IGNORECASE)


@functools.lru_cache(maxsize=8192)
def validator_failures(pattern: str) -> tuple[str, ...]:
    """The STIX 2.0 validator's messages on ``pattern`` (none: it parses), once per pattern
    in a process: its ANTLR parser costs about 10 ms a pattern, and ``huntline validate
    hunts/`` reads a Sigma pack's thousand books twice (as books, then as the pack's members)."""
    return tuple(run_validator(pattern, stix_version="2.0"))


@functools.lru_cache(maxsize=8192)
def inspected(pattern: str) -> Any:
    """stix2patterns' inspection of a pattern that parses (read only), once per pattern."""
    return Pattern(pattern).inspect()


def pattern_problems(pattern: str) -> list[str]:
    """What is wrong with a pattern that parses: MATCHES regexes, START/STOP order."""
    data = inspected(pattern)
    problems: list[str] = []
    for comparisons in data.comparisons.values():
        for _, operator, literal in comparisons:
            text = _TEXT_LITERAL.fullmatch(literal)
            if not operator.endswith("MATCHES") or text is None:
                continue
            problem = regex_problem(_UNESCAPE.sub(r"\1", text.group(1)))
            if problem:
                problems.append(f"MATCHES {problem}\n  hint: {HINT}")
    for qualifier in sorted(data.qualifiers):
        found = _START_STOP.fullmatch(qualifier.strip())
        if found and _instant(found.group(1)) >= _instant(found.group(2)):
            problems.append(
                f"START t'{found.group(1)}' is not before STOP t'{found.group(2)}': "
                "the qualifier selects nothing"
            )
    return problems


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
