"""The destination contract: an :class:`AlertSink` delivers one :class:`Notification`.

A notification is one message: a single alert, or a digest of the alerts beyond a run's
``max_notifications``. A sink either delivers it (the destination accepted it) or raises
:class:`~huntline.errors.AlertError`; the caller retries with backoff and keeps the alerts
``pending`` in the ledger until a later run gets them through. A sink is built from its URL
without I/O, so building one for a plan or a dry run touches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # checking a destination URL (validate) must not import pandas
    from huntline.alert.alerts import AlertRecord


@dataclass(frozen=True)
class Notification:
    """One message to one destination, about one alert or a digest of several."""

    title: str
    body: str
    severity: str
    alerts: tuple[AlertRecord, ...]
    digest: bool = False


class AlertSink(Protocol):
    """Something that can deliver notifications: apprise's services, a JSON lines file, ..."""

    def deliver(self, notification: Notification) -> None:
        """Deliver ``notification``; return only once the destination accepted it.

        Raises:
            AlertError: the destination refused it or could not be reached.
        """
        ...


def message_body(record: AlertRecord) -> str:
    """The plain-text body of one alert's notification: what it is, why, and where to look."""
    lines = [record.summary or record.title, ""]
    risk = f", risk {record.risk_score}" if record.risk_score is not None else ""
    lines.append(f"severity: {record.severity}{risk}")
    lines.append(f"hunt: {record.hunt_title} ({record.hunt_id}, book {record.book_version})")
    lines.append(f"window: {record.window_start.isoformat()} - {record.window_stop.isoformat()}")
    if record.group:
        group = ", ".join(f"{k}={v}" for k, v in record.group.items())
        lines.append(f"group: {group} ({record.count} rows)")
    for name, values in record.reasons.items():
        lines.append(f"{name}: {'; '.join(map(str, values))}")
    for name, value in record.fields.items():
        lines.append(f"{name}: {value}")
    lines.append(f"evidence: {record.evidence_uri}")
    if record.flow_run_url:
        lines.append(f"flow run: {record.flow_run_url}")
    lines.append(f"key: {record.alert_id}")
    return "\n".join(lines)


def digest_body(records: tuple[AlertRecord, ...], hunt_title: str) -> str:
    """The body of a digest: one line per alert."""
    lines = [f"{len(records)} more alert(s) from {hunt_title}:"]
    lines.extend(f"- [{r.severity}] {r.title} (key {r.alert_id})" for r in records)
    return "\n".join(lines)
