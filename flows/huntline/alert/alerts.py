"""Alert records: what one alert says, as stored (parquet, JSONL, the ledger) and delivered.

An alert stands for one group of matching rows (one row when the book does not group). It
carries what an analyst needs to trust and act on it without opening anything else: the hunt
and the book's version, the run's window and flow run URL, the group key and count, the key
fields, the columns the analytics added to explain themselves (``x_*reasons*``), and the URI of
the evidence parquet, whose rows of this alert carry its key in ``x_alert_key``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from huntline.alert.dedup import dedup_key
from huntline.alert.rules import Group
from huntline.alert.templates import clean, render_title
from huntline.book.model import HuntBook
from huntline.book.template import template_fields
from huntline.errors import AlertError
from huntline.expressions import parse_condition

KEY_COLUMNS = ("id", "type")
REASONS = re.compile(r"^x_.*reasons.*$")
#: The evidence column naming the alert (its dedup key) each row belongs to.
KEY_COLUMN = "x_alert_key"
#: The entity column (Kestrel/firepit) that dates an alert's evidence.
LAST_OBSERVED = "last_observed"


class RunInfo(BaseModel):
    """Facts about the run that every alert of it carries."""

    model_config = ConfigDict(frozen=True)

    flow_run_id: str
    flow_run_url: str | None
    window_start: datetime
    window_stop: datetime
    evidence_uri: str
    raised_at: datetime


class AlertRecord(BaseModel):
    """One alert, as stored (parquet and JSONL) and delivered. ``alert_id`` is its dedup key."""

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
    window_start: datetime
    window_stop: datetime
    book_version: str = ""
    summary: str | None = None
    risk_score: int | None = None
    group: dict[str, Any] = {}
    count: int = 1
    reasons: dict[str, list[Any]] = {}
    flow_run_url: str | None = None
    last_event: datetime | None = None
    #: Raised behind a failed quality gate: stored, never delivered (``run.alert_step``).
    gated: bool = False


def book_version(book: HuntBook) -> str:
    """A short hash of the book's content: alerts name the exact rules that raised them."""
    text = book.model_dump_json(by_alias=True).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def alert_columns(book: HuntBook, table: pd.DataFrame) -> list[str]:
    """The key fields an alert carries: id, type, what the templates and condition read, and
    ``alert.fields``, limited to columns the table has."""
    assert book.alert is not None
    alert = book.alert
    wanted = [
        *KEY_COLUMNS,
        *template_fields(alert.title),
        *template_fields(alert.summary or ""),
        *parse_condition(alert.when).columns,
        *alert.fields,
    ]
    return [column for column in dict.fromkeys(wanted) if column in table.columns]


def build_alerts(book: HuntBook, groups: Sequence[Group], run: RunInfo) -> list[AlertRecord]:
    """One :class:`AlertRecord` per group."""
    assert book.alert is not None
    alert = book.alert
    if not groups:
        return []
    columns = list(groups[0].rows.columns)
    templates = [alert.title, alert.summary or ""]
    missing = [f for t in templates for f in template_fields(t) if f not in [*columns, "count"]]
    if missing:
        raise AlertError(
            f"alert.title or alert.summary reads column(s) {', '.join(missing)} that "
            f"{alert.on} does not have",
            hint=f"columns available: {', '.join(map(str, columns))}",
        )
    keys = alert_columns(book, groups[0].rows)
    reasons = [str(column) for column in columns if REASONS.match(str(column))]
    version = book_version(book)
    records = []
    for group in groups:
        row = {"count": group.count, **group.rows.iloc[0].to_dict()}
        records.append(
            AlertRecord(
                alert_id=dedup_key(str(book.id), alert, group.rows),
                hunt_id=str(book.id),
                hunt_title=book.title,
                book_version=version,
                title=render_title(alert.title, row),
                summary=render_title(alert.summary, row) if alert.summary else None,
                severity=group.severity,
                risk_score=group.risk_score,
                tags=list(book.tags),
                entity_id=clean(row.get("id")) if group.count == 1 else None,
                entity_type=clean(row.get("type")),
                group=group.values,
                count=group.count,
                fields={column: clean(row.get(column)) for column in keys},
                reasons={column: _distinct(group.rows[column]) for column in reasons},
                window_start=run.window_start,
                window_stop=run.window_stop,
                evidence_uri=run.evidence_uri,
                flow_run_id=run.flow_run_id,
                flow_run_url=run.flow_run_url,
                raised_at=run.raised_at,
                last_event=_last_event(group.rows),
            )
        )
    return records


def evidence_frame(groups: Sequence[Group], records: Sequence[AlertRecord]) -> pd.DataFrame:
    """Every group's rows, each tagged with its alert's key in ``x_alert_key``."""
    parts = [
        group.rows.assign(**{KEY_COLUMN: record.alert_id})
        for group, record in zip(groups, records, strict=True)
    ]
    return pd.concat(parts, ignore_index=True)


def evidence_time(record: AlertRecord) -> datetime:
    """How recent an alert's evidence is: its newest ``last_observed``, else its window's stop."""
    return record.last_event or record.window_stop


def _last_event(rows: pd.DataFrame) -> datetime | None:
    if LAST_OBSERVED not in rows.columns:
        return None
    moments = pd.to_datetime(rows[LAST_OBSERVED], utc=True, errors="coerce").dropna()
    return None if moments.empty else moments.max().to_pydatetime()


def _distinct(series: pd.Series) -> list[Any]:
    values = []
    for value in series:
        value = clean(value)
        if value is not None and value not in values:
            values.append(value)
    return values


def alerts_frame(alerts: Sequence[AlertRecord]) -> pd.DataFrame:
    """Alerts as a table, dicts kept as JSON text and tags joined, so any reader can load it."""
    import orjson

    rows = []
    for record in alerts:
        row = record.model_dump()
        for name in ("fields", "group", "reasons"):
            row[name] = orjson.dumps(row[name], default=str).decode()
        row["tags"] = ",".join(row["tags"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(AlertRecord.model_fields))


def alerts_jsonl(alerts: Sequence[AlertRecord]) -> bytes:
    """Alerts as JSON lines, one alert a line."""
    return b"".join(record.model_dump_json().encode() + b"\n" for record in alerts)
