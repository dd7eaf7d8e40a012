"""Turn the rows that meet a hunt book's ``alert.when`` into alerts.

One alert per matching row (entity). Each alert carries the hunt's identity and metadata, the
rendered title, the row's key fields, and the URI of the evidence parquet: the matching rows,
whole, as they stood when the alert fired. The alert id is derived from the hunt id and the
entity id, so the same entity seen again by a later run yields the same id (the key a ledger
suppresses duplicates on).
"""

from __future__ import annotations

import hashlib
import math
import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from huntline.book import Alert, HuntBook
from huntline.condition import ConditionError, evaluate, parse_condition
from huntline.errors import AlertError

KEY_COLUMNS = ("id", "type")


class AlertRecord(BaseModel):
    """One alert, as stored (parquet and JSONL) and delivered."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    hunt_id: str
    hunt_title: str
    title: str
    severity: str
    tags: list[str]
    entity_id: str | None
    entity_type: str | None
    fields: dict[str, Any]
    evidence_uri: str
    flow_run_id: str
    raised_at: datetime


class _RowFormatter(string.Formatter):
    """``str.format`` whose fields are whole column names, dots included (``{parent_ref.name}``)."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name not in kwargs:
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def template_fields(template: str) -> list[str]:
    """The column names a title template reads."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def render_title(template: str, row: Mapping[str, Any]) -> str:
    """Fill ``template`` from ``row``; a missing value renders as ``-``."""
    values = {key: ("-" if _is_missing(value) else value) for key, value in row.items()}
    return _RowFormatter().vformat(template, (), values)


def matching_rows(table: pd.DataFrame, alert: Alert) -> pd.DataFrame:
    """The rows of ``table`` that meet ``alert.when``.

    Raises:
        AlertError: if the condition reads a column the table lacks or cannot be evaluated.
    """
    if table.empty:
        return table
    try:
        mask = evaluate(parse_condition(alert.when), table)
    except ConditionError as error:
        raise AlertError(f"alert.when on {alert.on}: {error.message}", hint=error.hint) from error
    return table[mask]


def alert_columns(alert: Alert, table: pd.DataFrame) -> list[str]:
    """The key fields an alert carries: id, type, what the title and condition read, and
    ``alert.fields``, limited to columns the table has."""
    wanted = [
        *KEY_COLUMNS,
        *template_fields(alert.title),
        *parse_condition(alert.when).columns,
        *alert.fields,
    ]
    return [column for column in dict.fromkeys(wanted) if column in table.columns]


def build_alerts(
    book: HuntBook,
    matches: pd.DataFrame,
    *,
    evidence_uri: str,
    flow_run_id: str,
    raised_at: datetime,
) -> list[AlertRecord]:
    """One :class:`AlertRecord` per row of ``matches``."""
    assert book.alert is not None
    alert = book.alert
    missing = [f for f in template_fields(alert.title) if f not in matches.columns]
    if missing and not matches.empty:
        raise AlertError(
            f"alert.title reads column(s) {', '.join(missing)} that {alert.on} does not have",
            hint=f"columns available: {', '.join(map(str, matches.columns))}",
        )
    columns = alert_columns(alert, matches)
    records = []
    for row in matches.to_dict(orient="records"):
        entity_id = _clean(row.get("id"))
        records.append(
            AlertRecord(
                alert_id=_alert_id(str(book.id), entity_id, row),
                hunt_id=str(book.id),
                hunt_title=book.title,
                title=render_title(alert.title, row),
                severity=alert.severity,
                tags=list(book.tags),
                entity_id=entity_id,
                entity_type=_clean(row.get("type")),
                fields={column: _clean(row.get(column)) for column in columns},
                evidence_uri=evidence_uri,
                flow_run_id=flow_run_id,
                raised_at=raised_at,
            )
        )
    return records


def alerts_frame(alerts: Sequence[AlertRecord]) -> pd.DataFrame:
    """Alerts as a table, ``fields`` and ``tags`` kept as JSON text so any reader can load it."""
    import orjson

    rows = []
    for record in alerts:
        row = record.model_dump()
        row["fields"] = orjson.dumps(row["fields"], default=str).decode()
        row["tags"] = ",".join(row["tags"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(AlertRecord.model_fields))


def alerts_jsonl(alerts: Sequence[AlertRecord]) -> bytes:
    """Alerts as JSON lines, one alert a line."""
    return b"".join(record.model_dump_json().encode() + b"\n" for record in alerts)


def _alert_id(hunt_id: str, entity_id: str | None, row: Mapping[str, Any]) -> str:
    identity = entity_id or repr(sorted((k, repr(v)) for k, v in row.items()))
    return hashlib.sha256(f"{hunt_id}\x00{identity}".encode()).hexdigest()[:32]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _clean(value: Any) -> Any:
    """A JSON-friendly plain value (numpy scalars and arrays to Python, NaN to None)."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        return value.tolist()
    if _is_missing(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    return value
