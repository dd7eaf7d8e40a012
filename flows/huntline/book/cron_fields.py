"""Which field of an invalid cron expression is wrong, and why.

Prefect (and so ``validate``) said only "Invalid cron string" for ``61 * * * *``. This module
reads the five fields the way cron does (lists, ranges, steps, month and day names) and names
the first field at fault, its allowed values and the part that breaks them. It is asked only
after Prefect's own check refused the expression, so it never rejects what the server accepts;
when it finds nothing it can name, Prefect's message stands.
"""

from __future__ import annotations

import re

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: The five fields, in order: name, lowest value, highest value, names allowed.
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 7, DAYS),
)
_ITEM = re.compile(r"^(?P<range>\*|[^/-]+(?:-[^/-]+)?)(?:/(?P<step>.*))?$")


def cron_problem(cron: str) -> str | None:
    """What is wrong with ``cron``, naming the field, or None if nothing can be named.

    >>> cron_problem("61 * * * *")
    "cron '61 * * * *': field 1 (minute) is '61': 61 is out of range (minute is 0-59)"
    """
    fields = cron.split()
    if cron.startswith("@") or len(fields) != len(FIELDS):
        return None  # nicknames and field counts are Prefect's to judge
    for position, (text, spec) in enumerate(zip(fields, FIELDS, strict=True), start=1):
        reason = _field_problem(text, *spec)
        if reason:
            return f"cron {cron!r}: field {position} ({spec[0]}) is {text!r}: {reason}"
    return None


def _field_problem(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    allowed = f"{name} is {low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    for item in text.split(","):
        match = _ITEM.match(item)
        if not item or match is None:
            return f"{item!r} is not a value, a range a-b or a step */n ({allowed})"
        step = match["step"]
        if step is not None and not (step.isdigit() and int(step) > 0):
            return f"the step in {item!r} must be a whole number above 0"
        if match["range"] == "*":
            continue
        ends = match["range"].split("-")
        values = [_value(end, names) for end in ends]
        for end, value in zip(ends, values, strict=True):
            if value is None:
                return f"{end!r} is not a number or a name ({allowed})"
            if not low <= value <= high:
                return f"{end} is out of range ({allowed})"
        first, last = values[0], values[-1]
        if first is not None and last is not None and first > last:
            return f"the range {match['range']} runs backwards"
    return None


def _value(text: str, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if names is MONTHS else 0)
    return None
