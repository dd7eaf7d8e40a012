"""The columns an alert section reads, checked against the entity table it alerts on, when
that table is a fetched table whose columns follow from its type.

Only books whose alert variable comes from ``get`` steps (and ``expect`` gates, which pass it
through) are checked: an ``apply`` step can add any column, so its variable is checked at run
time (:func:`huntline.alert.rules.check_columns`). What a type's table can hold is
:mod:`huntline.book.sco_properties`; a problem is a column it can never have, so the book
fails ``validate`` instead of its first scheduled run.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Iterator

from huntline.book.model import Alert, HuntBook, RiskFrom, SeverityFrom
from huntline.book.sco_properties import column_problem
from huntline.book.steps.base import Location
from huntline.book.steps.expect import ExpectStep
from huntline.book.steps.get import GetStep
from huntline.expressions import ConditionError, parse_condition

#: What a title or summary may read besides columns (a grouped alert's row count).
TEMPLATE_EXTRAS = frozenset({"count"})


def fetched_entities(book: HuntBook) -> set[str]:
    """The entity types of the table the alert reads, or an empty set when a step other than
    ``get`` or ``expect`` writes it (its columns are then known only at run time)."""
    if book.alert is None:
        return set()
    entities = set()
    for step in book.steps:
        if book.alert.on not in step.writes:
            continue
        if isinstance(step, GetStep):
            entities.add(step.entity)
        elif not isinstance(step, ExpectStep):
            return set()
    return entities


def _read_columns(alert: Alert) -> Iterator[tuple[Location, str]]:
    """Each column the alert section reads, with the field that reads it (a condition or
    template that does not parse reads nothing here: other checks report it)."""
    with contextlib.suppress(ConditionError):
        yield from ((("alert", "when"), c) for c in parse_condition(alert.when).columns)
    for key, template in (("title", alert.title), ("summary", alert.summary)):
        # The fields of a str.format template (huntline.alert.templates reads them the same).
        with contextlib.suppress(ValueError):
            fields = [name for _, name, _, _ in string.Formatter().parse(template or "") if name]
            yield from ((("alert", key), n) for n in fields if n not in TEMPLATE_EXTRAS)
    for key in ("fields", "group_by", "dedup"):
        for index, name in enumerate(getattr(alert, key)):
            yield ("alert", key, index), name
    if alert.threshold is not None and alert.threshold.distinct:
        yield ("alert", "threshold", "distinct"), alert.threshold.distinct
    for key in ("severity", "risk_score"):
        rule = getattr(alert, key)
        if isinstance(rule, SeverityFrom | RiskFrom):
            yield ("alert", key, "column"), rule.column


def entity_column_problems(book: HuntBook) -> list[tuple[Location, str]]:
    """``(field, problem)`` for every column the alert reads that its fetched table can never
    have, e.g. ``alert.when: column 'proces_name': a process has no property 'proces_name'``."""
    entities = fetched_entities(book)
    if not entities or book.alert is None:
        return []
    problems: list[tuple[Location, str]] = []
    seen: set[tuple[Location, str]] = set()
    for where, column in _read_columns(book.alert):
        if (where, column) in seen:
            continue
        seen.add((where, column))
        # A column some fetched type can have is fine: several gets may write one variable.
        reasons = [column_problem(entity, column) for entity in sorted(entities)]
        if all(reasons):
            problems.append((where, f"{reasons[0]}, so the alert can never read it"))
    return problems
