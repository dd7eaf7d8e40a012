"""A STIX pattern evaluated locally: on the rows of an entity table, or on observed-data.

The semantics are stix2-matcher's (the OASIS reference matcher), which the differential tests
hold this module to:

- within one observation expression ``[...]``, ``AND`` needs one *root* SCO to satisfy both
  sides (stix2-matcher intersects the sets of root objects), ``OR`` either; so a comparison on
  another SCO type than the row's is false for that row, and ``[process:name = 'a' AND
  file:name = 'b']`` matches nothing;
- an observation matches an observation expression when one of its SCOs satisfies it, and a
  ``START``/``STOP`` qualifier further needs its ``[first_observed, last_observed]`` to overlap
  ``[start, stop)``;
- comparisons follow STIX's case and type rules (:mod:`.compare`).

On an entity table each row is one root SCO: :meth:`LocalPattern.table_mask` keeps the rows that
satisfy any observation expression (the entities that would be in a binding), and a
START/STOP reads the row's ``first_observed``/``last_observed``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, reduce
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from huntline.errors import PatternError
from huntline.patterns.compare import check, test
from huntline.patterns.syntax import (
    Comparison,
    Node,
    Observation,
    ObservedData,
    ParsedPattern,
    parse_pattern,
)
from huntline.patterns.values import ObservationRows, Selected, TableRows

__all__ = ["LocalPattern", "compile_pattern"]


class _Roots(Protocol):
    count: int

    def select(self, comparison: Comparison) -> Selected: ...


class LocalPattern:
    """A parsed pattern ready to evaluate; build it with :func:`compile_pattern`."""

    def __init__(self, parsed: ParsedPattern) -> None:
        self.parsed = parsed
        self.text = parsed.text
        self.types = frozenset(c.sco_type for c in parsed.comparisons())

    def table_mask(self, table: pa.Table, entity: str) -> pa.BooleanArray:
        """True for each row of ``table`` (an ``entity`` table) that satisfies the pattern.

        Raises:
            PatternError: The pattern names no property of ``entity``, or indexes a list.
        """
        if entity not in self.types:
            names = ", ".join(sorted(self.types))
            raise PatternError(
                f"STIX pattern {self.text!r} compares only {names} properties, so it cannot "
                f"select rows of a {entity} table",
                pattern=self.text,
            )
        roots = TableRows(table)
        spans = _Spans(lambda: _table_times(table))
        found = np.zeros(table.num_rows, dtype=bool)
        for observation in self.parsed.observations:
            hits = _evaluate(observation.expression, entity, roots, {})
            found |= hits & spans.inside(observation, table.num_rows)
        return pa.array(found, pa.bool_())

    def match_observations(self, observed: list[ObservedData]) -> np.ndarray:
        """True for each observed-data that satisfies the pattern (takes part in a binding)."""
        found = np.zeros(len(observed), dtype=bool)
        spans = _Spans(lambda: _observation_times(observed))
        for sco_type in sorted(self.types):
            roots = ObservationRows(observed, sco_type)
            if not roots.count:
                continue
            cache: dict[tuple[object, ...], Selected] = {}
            for observation in self.parsed.observations:
                hits = _evaluate(observation.expression, sco_type, roots, cache)
                owners = roots.observation[hits]
                found[owners[spans.inside(observation, len(observed))[owners]]] = True
        return found


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> LocalPattern:
    """Parse and check ``pattern`` once.

    Raises:
        PatternError: It does not parse, relates several observations, or holds a literal the
            evaluator cannot use (the message names the part).
    """
    parsed = parse_pattern(pattern)
    for comparison in parsed.comparisons():
        check(comparison)
    return LocalPattern(parsed)


def _evaluate(
    node: Node, sco_type: str, roots: _Roots, cache: dict[tuple[object, ...], Selected]
) -> np.ndarray:
    if not isinstance(node, Comparison):
        parts = (_evaluate(part, sco_type, roots, cache) for part in node.parts)
        return reduce(np.logical_and if node.conjunction else np.logical_or, parts)
    if node.sco_type != sco_type:
        return np.zeros(roots.count, dtype=bool)
    key = (node.steps,)
    selected = cache.get(key)
    if selected is None:
        selected = cache[key] = roots.select(node)
    return holds(node, selected)


def holds(comparison: Comparison, selected: Selected) -> np.ndarray:
    """Per root row: does one of its values satisfy ``comparison``?"""
    found = np.zeros(selected.count, dtype=bool)
    for rows, values in selected.parts:
        passed = test(comparison, values).to_numpy(zero_copy_only=False)
        if rows is None:
            found |= passed
        else:
            found[rows[passed]] = True
    if comparison.op == "EXISTS":
        found[selected.others] = True
        return ~found if comparison.flipped else found
    if comparison.flipped:
        found[selected.others] = True
    return found


class _Spans:
    """``[first_observed, last_observed]`` per row, read only if a qualifier needs it."""

    def __init__(self, read: Callable[[], tuple[pd.Series, pd.Series]]) -> None:
        self.read = read
        self.times: tuple[np.ndarray, np.ndarray] | None = None

    def inside(self, observation: Observation, count: int) -> np.ndarray:
        if observation.start is None or observation.stop is None:
            return np.ones(count, dtype=bool)
        if self.times is None:
            first, last = self.read()
            self.times = (first.to_numpy(), last.to_numpy())
        first, last = self.times
        start, stop = (_stamp(observation.start), _stamp(observation.stop))
        return np.asarray((first < stop) & (last >= start) & (start < stop), dtype=bool)


def _stamp(moment: datetime) -> np.datetime64:
    return np.datetime64(pd.Timestamp(moment).tz_convert(None).to_datetime64(), "ns")


def _utc(values: list[object]) -> pd.Series:
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce")
    return stamps.dt.tz_convert(None).astype("datetime64[ns]")


def _table_times(table: pa.Table) -> tuple[pd.Series, pd.Series]:
    def column(name: str) -> pd.Series:
        if name not in table.column_names:
            return _utc([None] * table.num_rows)
        return _utc(table.column(name).to_pylist())

    return column("first_observed"), column("last_observed")


def _observation_times(observed: list[ObservedData]) -> tuple[pd.Series, pd.Series]:
    return (
        _utc([obs.get("first_observed") for obs in observed]),
        _utc([obs.get("last_observed") for obs in observed]),
    )
