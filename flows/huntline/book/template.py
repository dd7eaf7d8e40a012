"""The grammar of alert title and summary templates, checked when a book loads.

A template is text with ``{column}`` placeholders, optionally ``{column:spec}``. Why so narrow:
``str.format`` lets a template pick its own padding (``{name:>999999999}`` made one alert a
gigabyte), take its spec from data (``{name:{command_line}}`` lets telemetry choose it), and
reach attributes (``{__class__}``) or positions (``{0}``). So a field is a column name, no
conversion (``!r``) is allowed, and a spec is one of a small bounded set:

    [align][width][,][.precision][type]

with align one of ``< > ^``, width at most 99, precision at most 9 and type one of
``s d f %``, e.g. ``{x_score:.2f}``, ``{name:<20}``, ``{count:,d}``. Literal braces are written
``{{`` and ``}}``. :mod:`huntline.alert.templates` renders what passes, bounded in length.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

MAX_WIDTH = 99
MAX_PRECISION = 9
SPEC = re.compile(r"[<>^]?(?P<width>\d+)?,?(?:\.(?P<precision>\d+))?[sdf%]?")
COLUMN = re.compile(r"[A-Za-z_][\w.'-]*")
SPEC_RULE = (
    f"a spec is [align][width][,][.precision][type] with align <, > or ^, width up to "
    f"{MAX_WIDTH}, precision up to {MAX_PRECISION} and type s, d, f or %"
)


class TemplateError(ValueError):
    """A template breaks the grammar above; the message says where and how."""


@dataclass(frozen=True)
class Placeholder:
    """One ``{column:spec}`` of a template."""

    column: str
    spec: str


@lru_cache(maxsize=256)
def parse_template(text: str) -> tuple[tuple[str, Placeholder | None], ...]:
    """The template as (literal text, placeholder or None) pairs, in order.

    >>> parse_template("{name} scored {x_score:.1f}")[1]
    (' scored ', Placeholder(column='x_score', spec='.1f'))

    Raises:
        TemplateError: a lone brace, a field that is not a column name, a conversion, or a
            spec outside the bounded set.
    """
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(
            f"not a valid template: {error}; write {{{{ or }}}} for a literal brace"
        ) from None
    pieces: list[tuple[str, Placeholder | None]] = []
    for literal, field, spec, conversion in parts:
        if field is None:
            pieces.append((literal, None))
            continue
        shown = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        whole = f"{{{field}{shown}}}"
        _check_field(field, whole)
        if conversion is not None:
            raise TemplateError(
                f"{whole}: a conversion (!{conversion}) is not allowed; "
                "a placeholder is {column} or {column:spec}"
            )
        _check_spec(spec or "", whole)
        pieces.append((literal, Placeholder(field, spec or "")))
    return tuple(pieces)


def _check_field(field: str, whole: str) -> None:
    if not field:
        raise TemplateError(f"{whole}: a placeholder names a column, e.g. {{name}}")
    if field.isdigit():
        raise TemplateError(f"{whole}: a positional field is not allowed; name a column")
    if not COLUMN.fullmatch(field) or field.startswith("__") or ".__" in field:
        raise TemplateError(
            f"{whole}: {field!r} is not a column name (letters, digits, _ . - and ', "
            "not starting with a digit or __)"
        )


def _check_spec(spec: str, whole: str) -> None:
    found = SPEC.fullmatch(spec)
    if (
        found is None
        or int(found["width"] or 0) > MAX_WIDTH
        or int(found["precision"] or 0) > MAX_PRECISION
    ):
        raise TemplateError(f"{whole}: format spec {spec!r} is not allowed; {SPEC_RULE}")


def template_fields(text: str) -> list[str]:
    """The column names a (valid) template reads, in order."""
    return [piece.column for _, piece in parse_template(text) if piece is not None]
