"""Indicators in a book's patterns: ``[ipv4-addr:value IN {{ intel.ipv4 }}]``.

A placeholder ``{{ intel.TYPE }}`` becomes a STIX set of the run's indicators of that type,
``('198.51.100.23', '203.0.113.7')``. A type the run has no indicators for becomes ``('')``,
which matches nothing, so a retro-hunt for domains does not fetch every process.

stix-shifter's translation cost grows very fast with a pattern's size (about 9 s at 2,000
operators), so :func:`chunked_patterns` splits a long list into several patterns of at most
:data:`CHUNK` values per placeholder; the fetch runs them one after the other into one table.
"""

from __future__ import annotations

from huntline.book.indicators import PLACEHOLDER, placeholders, sample, unknown_placeholders

CHUNK = 250

Indicators = dict[str, list[str]]

__all__ = [
    "CHUNK",
    "PLACEHOLDER",
    "Indicators",
    "chunked_patterns",
    "placeholders",
    "render",
    "sample",
    "stix_set",
    "unknown_placeholders",
]


def stix_set(values: list[str]) -> str:
    """A STIX set literal; quotes and backslashes escaped as STIX strings want."""
    quoted = ("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
    return "(" + ", ".join(quoted) + ")" if values else "('')"


def render(pattern: str, indicators: Indicators) -> str:
    """``pattern`` with every placeholder replaced by all the indicators of its type."""
    return PLACEHOLDER.sub(lambda m: stix_set(indicators.get(m.group(1), [])), pattern)


def chunked_patterns(pattern: str, indicators: Indicators, chunk: int | None = None) -> list[str]:
    """``pattern`` rendered into as many patterns as it takes to keep every placeholder's set at
    most ``chunk`` values; the i-th pattern holds the i-th slice of every type's values."""
    chunk = chunk or CHUNK
    kinds = set(placeholders(pattern))
    if not kinds:
        return [pattern]
    longest = max(len(indicators.get(kind, [])) for kind in kinds)
    count = max(1, -(-longest // chunk))
    return [
        render(
            pattern,
            {kind: indicators.get(kind, [])[i * chunk : (i + 1) * chunk] for kind in kinds},
        )
        for i in range(count)
    ]
