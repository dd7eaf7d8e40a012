"""Sigma correlation rules -> a book's ``group_by``, ``threshold`` and ``window``, or why not.

huntline's alert section folds the matching rows of one variable into groups (``group_by``) and
keeps a group with at least ``count`` rows, or ``count`` distinct values of one column
(``threshold``). That is exactly Sigma's ``event_count`` and ``value_count`` over **one** base
rule whose condition is ``gte`` (or ``gt``: one more) a count. The rest is refused, each with
its own reason so ``huntline sigma coverage`` groups them:

- ``temporal`` / ``temporal_ordered`` (several rules together or in order) and the
  value_sum/avg/percentile/median kinds: huntline's alert reads one variable and has no
  sequence or aggregate of a value;
- a correlation over several rules: one book fetches one rule's events;
- ``lt``, ``lte``, ``eq``, ``neq`` and a range: a threshold is a minimum, and "fewer than N"
  would need the groups that have no rows at all;
- a ``group-by`` or ``value_count`` field the base rule's log source does not map.

The ``timespan`` becomes the book's ``window: {last: TIMESPAN}``. That is sound, not complete:
every row a run groups lies in one span of that length, so an alert always means the Sigma
condition held within the timespan (never a false alert); but Sigma's window slides, and a
burst that straddles two runs' windows is found only if the runs overlap. With a schedule every
``s`` and a window ``T``, any burst within ``T - s`` falls in one run's window, so schedule the
book well inside its timespan; the ledger's dedup keeps overlapping runs from alerting twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.rule import SigmaRule

from huntline.sigma.fields import LOG_SOURCES, PATHS

_COUNTS = (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT)
_MINIMUM = {SigmaCorrelationConditionOperator.GTE: 0, SigmaCorrelationConditionOperator.GT: 1}


@dataclass(frozen=True)
class Correlation:
    """What a converted correlation adds to its base rule's book."""

    group_by: tuple[str, ...]
    count: int
    distinct: str | None
    window: str


class CorrelationRefused(Exception):
    """A correlation huntline cannot express: ``reason`` (coverage's group) and a message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def base_rule(rule: SigmaCorrelationRule) -> SigmaRule:
    """The one base rule of an event_count or value_count correlation, or why it has none."""
    kind = rule.type.name.lower()
    if rule.type not in _COUNTS:
        raise CorrelationRefused(
            f"{kind} correlation",
            f"correlation rule ({kind}): huntline alerts on the rows of one rule, with no "
            "sequence or aggregate of values; only event_count and value_count convert",
        )
    references = rule.rules or []
    if len(references) != 1:
        names = ", ".join(reference.reference for reference in references)
        raise CorrelationRefused(
            "multi-rule correlation",
            f"correlation rule ({kind}) over {len(references)} rules ({names}): a book hunts "
            "one rule's events; only a correlation over one rule converts",
        )
    base = references[0].rule
    if not isinstance(base, SigmaRule):
        raise CorrelationRefused(
            "multi-rule correlation",
            f"correlation rule ({kind}) over the correlation {references[0].reference}: "
            "only a correlation over one plain rule converts",
        )
    return base


def correlation(rule: SigmaCorrelationRule, base: SigmaRule) -> Correlation:
    """The group-by columns, threshold and window of a correlation over ``base``."""
    kind = rule.type.name.lower()
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition) or condition.op not in _MINIMUM:
        op = getattr(condition, "op", None)
        said = op.name.lower() if op is not None else "an extended condition"
        raise CorrelationRefused(
            "correlation condition not a minimum",
            f"correlation rule ({kind}): condition {said}: huntline's threshold is a minimum "
            "count, so only gte and gt convert",
        )
    fields = LOG_SOURCES[str(base.logsource.category)].fields
    wanted = list(rule.group_by or [])
    distinct = condition.fieldref if rule.type is SigmaCorrelationType.VALUE_COUNT else None
    if isinstance(distinct, list):
        distinct = distinct[0] if len(distinct) == 1 else None
    if rule.type is SigmaCorrelationType.VALUE_COUNT and distinct is None:
        raise CorrelationRefused(
            "correlation condition not a minimum",
            f"correlation rule ({kind}): the condition names no one field to count",
        )
    unmapped = [
        name
        for name in [*wanted, *([distinct] if distinct else [])]
        if fields.get(name, "path") in PATHS
    ]
    if unmapped:
        raise CorrelationRefused(
            "unmapped field",
            f"correlation rule ({kind}): field {unmapped[0]}: no column to count or group by "
            f"in log source {base.logsource.category}",
        )
    return Correlation(
        group_by=tuple(fields[name] for name in wanted),
        count=max(1, int(condition.count) + _MINIMUM[condition.op]),
        distinct=fields[distinct] if distinct else None,
        window=_duration(rule.timespan.seconds),
    )


def _duration(seconds: int) -> str:
    """Sigma's timespan (``1M`` and ``1y`` included) as a huntline duration, largest unit."""
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
