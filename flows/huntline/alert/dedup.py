"""Dedup keys and suppression: when an alert that was seen before is told again.

The dedup key of an alert is a hash of the hunt id and the values of its ``dedup`` columns
(default: the ``group_by`` columns, else the entity ``id``; a row without an id is keyed by all
its values). The same key seen by a later run, or by an overlapping window, is the same alert.

A key is *due* (its alert is sent) when it is new, or when a delivery of it is still owed
(``pending``), or when its suppression has expired *and* the new sighting brings newer evidence
than the last notification covered. The evidence time of an alert is the latest
``last_observed`` of its rows (the window's stop when the table has no such column). The last
rule is what keeps overlapping windows and reruns of old windows quiet, however short
``suppress_for`` is: the same events seen again bring nothing new.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from huntline.alert.templates import clean

if TYPE_CHECKING:
    import pandas as pd

    from huntline.alert.ledger import LedgerEntry
    from huntline.book.model import Alert


def dedup_columns(alert: Alert) -> list[str]:
    """The columns of the dedup key: ``dedup``, else ``group_by``, else ``id`` (per row)."""
    if alert.dedup:
        return list(alert.dedup)
    if alert.group_by:
        return list(alert.group_by)
    if alert.threshold is not None:
        return []  # one group of every matching row: one key for the hunt
    return ["id"]


def dedup_key(hunt_id: str, alert: Alert, rows: pd.DataFrame) -> str:
    """The ledger key of the alert on ``rows`` (a group): stable across runs, windows and
    machines."""
    first = rows.iloc[0]
    columns = dedup_columns(alert)
    present = [column for column in columns if column in rows.columns]
    if present == columns:
        identity: Any = [[column, clean(first[column])] for column in columns]
    else:  # keyed by id but the table has none: the whole row is the identity
        identity = sorted((str(k), repr(clean(v))) for k, v in first.items())
    text = orjson.dumps([hunt_id, identity], default=str, option=orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(text).hexdigest()[:32]


def is_due(
    entry: LedgerEntry | None,
    *,
    now: datetime,
    suppress_for: timedelta,
    evidence_time: datetime,
) -> bool:
    """Whether a key seen now, with evidence up to ``evidence_time``, must be sent."""
    if entry is None or entry.status in {"new", "pending"}:
        return True
    if entry.notified_at is None:
        return True
    expired = now >= entry.notified_at + suppress_for
    beyond = entry.notified_until is None or evidence_time > entry.notified_until
    return expired and beyond
