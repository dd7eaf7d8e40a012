"""The alert rules of a hunt book, applied to a table: which rows match, and how they group.

``when`` picks rows (the safe condition language). ``group_by`` folds them into one alert per
group (per host, per host + user), ``threshold`` keeps only the groups with enough rows or enough
distinct values of a column, and ``severity`` / ``risk_score`` are fixed or read from columns.
Without ``group_by`` every matching row is its own group, as before; a ``threshold`` without
``group_by`` counts all matching rows as one group.

The columns these rules name are only known once the analytics have run, so they are checked
here, at run time, against the table, and an error lists the columns the table has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from huntline.alert.templates import clean, is_missing
from huntline.book.model import LEVELS, Alert, RiskFrom, SeverityFrom
from huntline.errors import AlertError
from huntline.expressions import ConditionError, evaluate, parse_condition
from huntline.lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # describing an alert (``huntline compile``) needs no pandas; rows import it
    pd = LazyModule("pandas")


@dataclass(frozen=True)
class Group:
    """The rows one alert stands for.

    Attributes:
        values: The ``group_by`` column values of the group (empty when not grouped).
        rows: The matching rows of the group, whole: the alert's evidence.
        severity: The group's severity, fixed or the highest mapped from a column.
        risk_score: 0-100, fixed or from a column, or None when the book sets none.
        distinct: Distinct values of ``threshold.distinct`` in the group, when it is set.
    """

    values: dict[str, Any]
    rows: pd.DataFrame = field(repr=False)
    severity: str
    risk_score: int | None
    distinct: int | None = None

    @property
    def count(self) -> int:
        return len(self.rows)


def rule_columns(alert: Alert) -> list[str]:
    """Every column the rules beyond ``when`` read: group_by, dedup, threshold, severity, risk."""
    columns = [*alert.group_by, *alert.dedup]
    if alert.threshold is not None and alert.threshold.distinct:
        columns.append(alert.threshold.distinct)
    if isinstance(alert.severity, SeverityFrom):
        columns.append(alert.severity.column)
    if isinstance(alert.risk_score, RiskFrom):
        columns.append(alert.risk_score.column)
    return list(dict.fromkeys(columns))


def describe(alert: Alert) -> str:
    """The rules in one line, for ``huntline compile --explain`` (destinations as written)."""
    from huntline.alert.dedup import dedup_columns

    rule = alert.severity
    severity = f"severity from {rule.column}" if isinstance(rule, SeverityFrom) else rule
    text = f"{severity} WHEN {alert.when} ON {alert.on}"
    if alert.group_by:
        text += f" GROUP BY {', '.join(alert.group_by)}"
    if alert.threshold is not None:
        what = f"distinct {alert.threshold.distinct}" if alert.threshold.distinct else "rows"
        text += f" HAVING {what} >= {alert.threshold.count}"
    text += f": {alert.title}"
    if alert.model_fields_set & {"dedup", "suppress_for", "notify"}:
        key = ", ".join(dedup_columns(alert)) or "the hunt"
        text += f"; dedup on {key}, suppress {alert.suppress_for}"
    if alert.notify:
        text += f"; notify {', '.join(alert.notify)} (at most {alert.max_notifications} a run)"
    return text


def check_columns(alert: Alert, columns: Iterable[str]) -> None:
    """Raise if the rules read a column the table lacks; the error lists the table's columns."""
    have = [str(column) for column in columns]
    missing = [column for column in rule_columns(alert) if column not in have]
    if missing:
        raise AlertError(
            f"alert rules on {alert.on} read column(s) {', '.join(missing)} that {alert.on} "
            "does not have after the last step",
            hint=f"columns available: {', '.join(have)}",
        )


def matching_rows(table: pd.DataFrame, alert: Alert) -> pd.DataFrame:
    """The rows of ``table`` that meet ``alert.when``.

    Raises:
        AlertError: if the condition or a rule reads a column the table lacks, or the condition
            cannot be evaluated.
    """
    if table.empty:
        return table
    check_columns(alert, table.columns)
    try:
        mask = evaluate(parse_condition(alert.when), table)
    except ConditionError as error:
        raise AlertError(f"alert.when on {alert.on}: {error.message}", hint=error.hint) from error
    return table[mask]


def alert_groups(matches: pd.DataFrame, alert: Alert) -> list[Group]:
    """The groups of ``matches`` that pass the threshold, in the order they first appear."""
    if matches.empty:
        return []
    if alert.group_by:
        keys = [_hashable(matches[column]) for column in alert.group_by]
        grouped = matches.groupby(keys, dropna=False, sort=False)
        parts = [rows for _, rows in grouped]
    elif alert.threshold is not None:
        parts = [matches]
    else:
        parts = [matches.iloc[[index]] for index in range(len(matches))]
    groups = []
    for rows in parts:
        first = rows.iloc[0]
        distinct = None
        if alert.threshold is not None and alert.threshold.distinct:
            distinct = int(_hashable(rows[alert.threshold.distinct]).nunique(dropna=True))
        if alert.threshold is not None:
            size = distinct if distinct is not None else len(rows)
            if size < alert.threshold.count:
                continue
        groups.append(
            Group(
                values={column: clean(first[column]) for column in alert.group_by},
                rows=rows,
                severity=_severity(alert, rows),
                risk_score=_risk(alert, rows),
                distinct=distinct,
            )
        )
    return groups


def _hashable(series: pd.Series) -> pd.Series:
    """``series`` with list/array cells as text, so it can be grouped and counted."""
    if series.dtype == object and series.map(lambda v: isinstance(v, list | dict)).any():
        return series.map(lambda v: repr(clean(v)))
    if series.dtype == object:
        return series.map(lambda v: repr(clean(v)) if hasattr(v, "ndim") else v)
    return series


def _severity(alert: Alert, rows: pd.DataFrame) -> str:
    rule = alert.severity
    if not isinstance(rule, SeverityFrom):
        return rule
    levels = [
        rule.default if is_missing(value) else rule.map.get(_as_text(value), rule.default)
        for value in rows[rule.column]
    ]
    return max(levels, key=LEVELS.index)


def _as_text(value: Any) -> str:
    value = clean(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _risk(alert: Alert, rows: pd.DataFrame) -> int | None:
    rule = alert.risk_score
    if rule is None or isinstance(rule, int):
        return rule
    values = pd.to_numeric(rows[rule.column], errors="coerce").dropna()
    if values.empty:
        return None
    return round(min(100.0, max(0.0, float(values.max()) * rule.scale)))


def one_per_key(groups: list[Group], hunt_id: str, alert: Alert) -> list[Group]:
    """The groups with those that share a dedup key within this run folded into the first.

    The ledger already made a key seen again in a *later* run one alert; two rows of the *same*
    run with one key (the same process reported by two sources, say, with ``dedup:
    [pid, command_line]``) were still two alerts, two notifications and an ``alert_count`` of
    2. Now they are one alert whose evidence holds both rows (its ``count`` counts them), with
    the highest severity and risk of the two.
    """
    from huntline.alert.dedup import dedup_key

    folded: dict[str, Group] = {}
    for group in groups:
        key = dedup_key(hunt_id, alert, group.rows)
        first = folded.get(key)
        if first is None:
            folded[key] = group
            continue
        risks = [r for r in (first.risk_score, group.risk_score) if r is not None]
        folded[key] = Group(
            values=first.values,
            rows=pd.concat([first.rows, group.rows]),
            severity=max(first.severity, group.severity, key=LEVELS.index),
            risk_score=max(risks) if risks else None,
            distinct=first.distinct,
        )
    return list(folded.values())
