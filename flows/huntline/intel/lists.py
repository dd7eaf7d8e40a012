"""Plain IOC lists: a CSV with ``type,value`` columns, or one indicator per line.

Blank lines and lines starting with ``#`` are skipped (in a CSV, those before the header).
Without a ``type:`` in the feed's configuration, the type of a bare value is inferred (an IP
address, a hash by its length, a URL, an e-mail address, a domain); a value whose type cannot
be told is an error that names its line, rather than an indicator silently dropped.
"""

from __future__ import annotations

import csv
import io

from huntline.errors import IntelError
from huntline.intel.model import INDICATOR_TYPES, FeedConfig, Indicator, infer_type
from huntline.intel.source import read_source


def _text(name: str, config: FeedConfig) -> str:
    try:
        return read_source(name, config).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IntelError(
            f"intel feed {name!r}: {config.location} is not UTF-8 text", feed=name
        ) from error


def _typed(name: str, config: FeedConfig, line: int, kind: str | None, value: str) -> Indicator:
    kind = kind or config.type or infer_type(value)
    if kind not in INDICATOR_TYPES:
        problem = f"unknown type {kind!r}" if kind else f"cannot tell the type of {value!r}"
        raise IntelError(
            f"intel feed {name!r}: {config.location}:{line}: {problem}",
            hint=f"the types are: {', '.join(INDICATOR_TYPES)}; or set type: on the feed",
            feed=name,
        )
    return Indicator(type=kind, value=value, feed=name, source_id=f"{config.location}:{line}")


class ListFeed:
    """``kind: list``: one indicator per line."""

    kind = "list"

    def read(self, name: str, config: FeedConfig) -> list[Indicator]:
        found: list[Indicator] = []
        for number, line in enumerate(_text(name, config).splitlines(), start=1):
            value = line.strip()
            if value and not value.startswith("#"):
                found.append(_typed(name, config, number, None, value))
        return found


class CsvFeed:
    """``kind: csv``: a header row with ``value`` and, unless the feed sets ``type:``, ``type``."""

    kind = "csv"

    def read(self, name: str, config: FeedConfig) -> list[Indicator]:
        lines = _text(name, config).splitlines()
        # Feeds such as abuse.ch's start with a block of # comments before the header.
        skipped = 0
        while skipped < len(lines) and (not lines[skipped].strip() or lines[skipped][0] == "#"):
            skipped += 1
        reader = csv.DictReader(io.StringIO("\n".join(lines[skipped:])))
        columns = set(reader.fieldnames or ())
        needed = {"value"} if config.type else {"type", "value"}
        if not needed <= columns:
            raise IntelError(
                f"intel feed {name!r}: {config.location} has no column "
                f"{', '.join(sorted(needed - columns))} (its header: {', '.join(sorted(columns))})",
                feed=name,
            )
        found: list[Indicator] = []
        for row in reader:
            value = (row.get("value") or "").strip()
            if value:
                kind = (row.get("type") or "").strip() or None
                found.append(_typed(name, config, skipped + reader.line_num, kind, value))
        return found
