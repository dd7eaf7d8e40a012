"""What a comparison's object path selects: Arrow arrays of values, each value tied to the
*root* row (the SCO the path starts from) it belongs to.

Two places to select from:

- an entity table (:class:`TableRows`): one row per entity, the path is a column named as
  flattening names it (``parent_ref.binary_ref.name``, ``hashes.'SHA-256'``); a null is no
  value. A path with an index step (``[*]``, ``[0]``) is refused: tables hold lists as JSON text;
- the SCOs of one type in a list of observed-data (:class:`ObservationRows`): the path is walked
  as stix2-matcher walks it, dereferencing ``*_ref``/``*_refs`` inside the same observation and
  exploding ``[*]``, so one root can have several values. Only the paths the pattern names are
  walked (a few microseconds per SCO in Python), and the values are then compared as Arrow
  arrays, one per JSON type, by :mod:`.compare`. A JSON value no comparison can compare (a
  list, an object, ``null``) is kept apart in :attr:`Selected.others`.

A property whose name ends ``_bin`` (base64) or ``_hex`` is binary, in both places: its values
are decoded to bytes (an Arrow ``binary`` array), as stix2-matcher decodes them, and a value
that does not decode is no value.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from huntline.errors import PatternError
from huntline.patterns.syntax import Comparison, ObservedData, Step

__all__ = ["ObservationRows", "Selected", "TableRows"]

_INT64 = (-(2**63), 2**63 - 1)
_BINARY = ("_bin", "_hex")
_ARROW = {
    str: pa.string(),
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    bytes: pa.binary(),
}


@dataclass
class Selected:
    """The values a path selects on ``count`` root rows: ``parts`` pairs an array of values with
    the root row of each (None: value ``i`` is row ``i``)."""

    count: int
    parts: list[tuple[np.ndarray | None, pa.Array]] = field(default_factory=list)
    others: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class TableRows:
    """The rows of an entity table as roots."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.count = table.num_rows

    def select(self, comparison: Comparison) -> Selected:
        column = comparison.column
        if column is None:
            raise PatternError(
                f"{comparison.text!r} cannot be evaluated on a table: it indexes a list, and "
                "tables hold lists as JSON text",
                comparison=comparison.text,
                hint="compare the list column's text instead, e.g. with MATCHES",
            )
        if column not in self.table.column_names:
            return Selected(self.count)
        values = self.table.column(column).combine_chunks()
        last = str(comparison.steps[-1])
        if last.endswith(_BINARY) and pa.types.is_string(values.type):
            decoded = [_decoded(last, text) for text in values.to_pylist()]
            values = pa.array(decoded, pa.binary())
        return Selected(self.count, [(None, values)])


class ObservationRows:
    """The SCOs of one type in ``observed`` as roots; :attr:`observation` maps each to its
    observation's index."""

    def __init__(self, observed: list[ObservedData], sco_type: str) -> None:
        self.scos: list[dict[str, Any]] = []
        self.objects: list[dict[str, Any]] = []
        owner: list[int] = []
        for index, obs in enumerate(observed):
            objects = obs.get("objects")
            if not isinstance(objects, dict):
                continue
            for sco in objects.values():
                if isinstance(sco, dict) and sco.get("type") == sco_type:
                    self.scos.append(sco)
                    self.objects.append(objects)
                    owner.append(index)
        self.observation = np.array(owner, dtype=np.int64)
        self.count = len(self.scos)

    def select(self, comparison: Comparison) -> Selected:
        by_kind: dict[type, tuple[list[int], list[Any]]] = {}
        others: list[int] = []
        steps = comparison.steps
        for row, (sco, objects) in enumerate(zip(self.scos, self.objects, strict=True)):
            for value in _walk(sco, steps, objects):
                sort = type(value)
                if sort is int and not _INT64[0] <= value <= _INT64[1]:
                    sort = float
                if sort in _ARROW:
                    rows, values = by_kind.setdefault(sort, ([], []))
                    rows.append(row)
                    values.append(value)
                else:
                    others.append(row)
        parts: list[tuple[np.ndarray | None, pa.Array]] = [
            (np.array(rows, dtype=np.int64), pa.array(values, _ARROW[sort]))
            for sort, (rows, values) in by_kind.items()
        ]
        return Selected(self.count, parts, np.array(others, dtype=np.int64))


def _walk(sco: dict[str, Any], steps: tuple[Step, ...], objects: dict[str, Any]) -> list[Any]:
    """The values ``steps`` reach from ``sco``, as stix2-matcher steps: a missing key or index
    drops the branch, ``*_ref`` and ``*_refs`` resolve within the observation."""
    current: list[Any] = [sco]
    for step in steps:
        stepped: list[Any] = []
        for item in current:
            if isinstance(step, str):
                if isinstance(item, dict) and step in item:
                    stepped.extend(_dereferenced(step, item[step], objects))
            elif step is None:
                if isinstance(item, list):
                    stepped.extend(item)
            elif isinstance(item, list) and 0 <= step < len(item):
                stepped.append(item[step])
        if not stepped:
            return stepped
        current = stepped
    return current


def _decoded(key: str, value: Any) -> bytes | None:
    """A ``*_bin`` (base64) or ``*_hex`` value as bytes; None when it does not decode."""
    if not isinstance(value, str):
        return None
    try:
        if key.endswith("_bin"):
            return base64.b64decode(value, validate=True)
        return bytes.fromhex(value)
    except (binascii.Error, ValueError):
        return None


def _dereferenced(key: str, value: Any, objects: dict[str, Any]) -> list[Any]:
    if key.endswith(_BINARY) and isinstance(value, str):
        decoded = _decoded(key, value)
        return [] if decoded is None else [decoded]
    if key.endswith("_ref"):
        target = objects.get(value) if isinstance(value, str) else None
        return [] if target is None else [target]
    if key.endswith("_refs") and isinstance(value, list):
        targets = [objects[ref] for ref in value if isinstance(ref, str) and ref in objects]
        return [targets] if targets else []
    return [value]
