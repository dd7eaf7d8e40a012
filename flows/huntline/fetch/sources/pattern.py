"""Put the run's time window into a STIX pattern as START/STOP qualifiers.

Why per observation expression, and not once around the whole pattern: a qualifier binds to the
nearest observation expression, and stix-shifter translators honour a START/STOP on a
parenthesised group only for one of its members. Measured with elastic_ecs 8.1.3,
``([a] OR [b]) START .. STOP ..`` gives ``[b]`` the window and ``[a]`` the connector's default
(the last 5 minutes). So every top-level ``[...]`` gets its own qualifier, right after its
closing bracket:

    [a] OR [b] WITHIN 5 SECONDS
    -> [a] START t'..' STOP t'..' OR [b] START t'..' STOP t'..' WITHIN 5 SECONDS

An observation expression that already has its own START/STOP (directly, or after WITHIN /
REPEATS) keeps it: the hunt author asked for that range on purpose.

Timestamps carry exactly three fractional digits, because stix_bundle only recognises an
existing START/STOP with at most three (otherwise it appends its own 5-minute window). The
start is rounded down and the stop up to the millisecond, so the window never shrinks.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from huntline.errors import DataSourceError
from huntline.fetch.base import Window

_QUALIFIER = re.compile(r"\s*(WITHIN\s+[0-9.]+\s+SECONDS|REPEATS\s+\d+\s+TIMES|START\b)")


def stix_timestamp(moment: datetime, *, round_up: bool = False) -> str:
    """Format a UTC datetime as a STIX timestamp literal body with millisecond precision."""
    floor = moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
    if round_up and floor != moment:
        floor += timedelta(milliseconds=1)
    return floor.strftime("%Y-%m-%dT%H:%M:%S.") + f"{floor.microsecond // 1000:03d}Z"


def window_qualifier(window: Window) -> str:
    """``START t'...' STOP t'...'`` for ``window``."""
    start = stix_timestamp(window.start)
    stop = stix_timestamp(window.stop, round_up=True)
    return f"START t'{start}' STOP t'{stop}'"


def observation_spans(pattern: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets of each top-level ``[...]``; ``end`` is past the ``]``.

    Quoted literals (``'..'``, ``t'..'``, ``h'..'``, ``b'..'``) are skipped with their ``\\'``
    escapes, and brackets inside an expression (``values[*]``) are counted, so neither can end
    an observation early.

    Raises:
        DataSourceError: The brackets or quotes do not balance.
    """
    spans: list[tuple[int, int]] = []
    depth = 0
    opened = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            index = _skip_string(pattern, index)
            continue
        if char == "[":
            if depth == 0:
                opened = index
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise _bad_pattern(pattern, f"unmatched ']' at offset {index}")
            if depth == 0:
                spans.append((opened, index + 1))
        index += 1
    if depth:
        raise _bad_pattern(pattern, f"unclosed '[' at offset {opened}")
    if not spans:
        raise _bad_pattern(pattern, "no observation expression ([...])")
    return spans


#: Operators and qualifiers that make one binding span several observations.
_CROSS_OBSERVATION = re.compile(r"\b(AND|FOLLOWEDBY|REPEATS|WITHIN)\b", re.IGNORECASE)


def binds_one_observation(pattern: str) -> bool:
    """Whether every binding of ``pattern`` is a single observation: its observation expressions
    are joined by ``OR`` only, with no ``REPEATS`` or ``WITHIN``. Such a pattern can be matched
    over a stream piece by piece; any other needs every observation at once."""
    spans = observation_spans(pattern)
    edges = [0, *(offset for span in spans for offset in span), len(pattern)]
    outside = " ".join(pattern[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2))
    return not _CROSS_OBSERVATION.search(outside)


def with_window(pattern: str, window: Window) -> str:
    """Return ``pattern`` with the window's START/STOP after every observation expression that
    has none of its own."""
    qualifier = window_qualifier(window)
    pieces: list[str] = []
    last = 0
    for _, end in observation_spans(pattern):
        pieces.append(pattern[last:end])
        if not own_start(pattern, end):
            pieces.append(f" {qualifier}")
        last = end
    pieces.append(pattern[last:])
    return "".join(pieces).strip()


def own_start(pattern: str, end: int) -> bool:
    """Whether the qualifiers that directly follow offset ``end`` include START."""
    position = end
    while match := _QUALIFIER.match(pattern, position):
        if match.group(1) == "START":
            return True
        position = match.end()
    return False


def _skip_string(pattern: str, quote: int) -> int:
    """The offset just past the string literal whose opening quote is at ``quote``."""
    index = quote + 1
    while index < len(pattern):
        if pattern[index] == "\\":
            index += 2
            continue
        if pattern[index] == "'":
            return index + 1
        index += 1
    raise _bad_pattern(pattern, f"unterminated string starting at offset {quote}")


def _bad_pattern(pattern: str, problem: str) -> DataSourceError:
    return DataSourceError(
        f"invalid STIX pattern: {problem}: {pattern}",
        pattern=pattern,
        hint="a pattern looks like [process:name = 'cmd.exe'] OR [ipv4-addr:value = '10.0.0.1']",
    )
