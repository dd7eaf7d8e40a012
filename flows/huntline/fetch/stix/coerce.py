"""SCO values that do not fit their STIX type: kept, never a reason to lose a row.

A connector that emits pids as text (``"pid": "abc"``, or Security 4688's hex ``"0x1410"``)
used to turn the ``pid`` column into text and, worse, give every such process of one host and
one moment the same id (``abc_<host>_<time>``), so a child and its parent merged into one row
and half the processes vanished. The rule now, for the integer properties of STIX 2.0 objects
(:data:`INTEGER_PROPERTIES`):

- an ``int`` is kept as it is (and ``None`` is absent);
- text holding a whole number, decimal or ``0x`` hex, becomes that number (``"0x1410"`` ->
  5136), so the same process has the same pid whichever log it came from;
- anything else (``"abc"``, ``true``, ``1.5``, a list) becomes null, and the raw value is kept
  in ``x_<name>_raw`` (lists and dicts as JSON text, like every other column).

Each changed value is counted (:mod:`huntline.fetch.tally`), by ``<type>.<name>``. Both
collectors apply this rule through :func:`.plans.make_plan`: the C collector hands an SCO
whose integer property is not an ``int`` to the Python planner.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["INTEGER_PROPERTIES", "as_integer", "coerced"]

#: The integer properties of STIX 2.0 cyber observables that hunts compare or join on.
INTEGER_PROPERTIES: dict[str, tuple[str, ...]] = {
    "process": ("pid",),
    "network-traffic": (
        "dst_byte_count",
        "dst_packets",
        "dst_port",
        "src_byte_count",
        "src_packets",
        "src_port",
    ),
    "file": ("size",),
}

_WHOLE = re.compile(r"\s*([+-]?)(?:(0[xX][0-9a-fA-F]+)|([0-9]+))\s*")


def as_integer(value: Any) -> int | None:
    """``value`` as an integer when it is one or is text holding one, else None."""
    if type(value) is int:
        return value
    if isinstance(value, str) and len(value) <= 40:
        found = _WHOLE.fullmatch(value)
        if found:
            sign, hexadecimal, decimal = found.groups()
            number = int(hexadecimal, 16) if hexadecimal else int(decimal)
            return -number if sign == "-" else number
    return None


def coerced(sco: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """``sco`` with its ill-typed integer properties fixed, and their names; None when none is.

    The fixed copy keeps the key order, with each ``x_<name>_raw`` after the last key.
    """
    names = INTEGER_PROPERTIES.get(sco.get("type"))  # type: ignore[arg-type]
    if not names:
        return None
    fixed: dict[str, Any] | None = None
    changed: list[str] = []
    for name in names:
        value = sco.get(name)
        if value is None or type(value) is int:
            continue
        if fixed is None:
            fixed = dict(sco)
        number = as_integer(value)
        fixed[name] = number
        if number is None:
            fixed[f"x_{name}_raw"] = value
        changed.append(name)
    return None if fixed is None else (fixed, tuple(changed))
