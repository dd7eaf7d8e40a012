"""Alert titles and summaries: ``str.format`` templates whose fields are whole column names.

``{parent_ref.name}`` reads the column ``parent_ref.name``; nothing else is evaluated (no
attribute access, no indexing, no calls), so a hunt book cannot run code through a template.
A missing value renders as ``-``. A grouped alert renders from its group's first row, and may
also read ``{count}``, the number of matching rows in the group (unless a column is so named).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


class _RowFormatter(string.Formatter):
    """``str.format`` whose fields are whole column names, dots included (``{parent_ref.name}``)."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name not in kwargs:
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def template_fields(template: str) -> list[str]:
    """The column names a template reads."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def render_title(template: str, row: Mapping[str, Any]) -> str:
    """Fill ``template`` from ``row``; a missing value renders as ``-``."""
    values = {key: ("-" if is_missing(value) else value) for key, value in row.items()}
    return _RowFormatter().vformat(template, (), values)


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
