"""Alert titles and summaries: templates whose fields are whole column names, rendered bounded.

``{parent_ref.name}`` reads the column ``parent_ref.name``; nothing else is evaluated (no
attribute access, no indexing, no calls), so a hunt book cannot run code through a template.
The grammar (a small bounded set of format specs) is :mod:`huntline.book.template`'s.
A missing value renders as ``-``. A grouped alert renders from its group's first row, and may
also read ``{count}``, the number of matching rows in the group (unless a column is so named).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from huntline.book.template import parse_template
from huntline.lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # describing an alert (``huntline compile``) needs no pandas; rows import it
    pd = LazyModule("pandas")

MAX_VALUE = 1024
MAX_TEXT = 4096


def render_title(template: str, row: Mapping[str, Any]) -> str:
    """Fill ``template`` (checked by :func:`parse_template`) from ``row``.

    A missing value renders as ``-``; a value its spec cannot format (``{score:.2f}`` on text)
    renders as plain text. Each value is cut to :data:`MAX_VALUE` characters and the whole
    text to :data:`MAX_TEXT`, so a huge ``command_line`` makes a long title, not a huge one.
    """
    parts: list[str] = []
    for literal, placeholder in parse_template(template):
        parts.append(literal)
        if placeholder is None:
            continue
        if placeholder.column not in row:
            raise KeyError(placeholder.column)
        value = "-" if is_missing(row[placeholder.column]) else row[placeholder.column]
        parts.append(_cut(_format(value, placeholder.spec), MAX_VALUE))
    return _cut("".join(parts), MAX_TEXT)


def _format(value: Any, spec: str) -> str:
    if isinstance(value, str):
        value = _cut(value, MAX_VALUE)  # before padding: the spec's width is bounded anyway
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_missing(value: Any) -> bool:
    """Whether ``value`` is None or a pandas/numpy missing value (NaN, NaT, NA)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def clean(value: Any) -> Any:
    """A JSON-friendly plain value (numpy scalars and arrays to Python, NaN to None)."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        return value.tolist()
    if is_missing(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    return value
