"""Sending a run's due alerts: at most ``max_notifications`` messages per destination, a digest
for the rest, each message retried with backoff, and a destination that stays down skipped for
the rest of the run (its alerts stay owed, for the next run).

Nothing here touches the ledger: it reports, per alert key, which destinations accepted it and
the last error, and the ledger records that afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from huntline.alert.alerts import AlertRecord
from huntline.alert.destinations import Destination, destination_url
from huntline.alert.sink_protocol import Notification, digest_body, message_body
from huntline.alert.sink_registry import sink_for
from huntline.book.model import LEVELS
from huntline.errors import AlertError


@dataclass(frozen=True)
class RetryPolicy:
    """Tries per message within a run, and the first pause (doubled after each failure)."""

    tries: int = 3
    backoff: float = 1.0


DEFAULT_RETRY = RetryPolicy()


@dataclass
class DeliveryReport:
    """Per alert key: the destinations that accepted it this run, and the last error."""

    delivered: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    messages: int = 0
    digests: int = 0


def plan_messages(
    alerts: Sequence[AlertRecord], max_notifications: int, hunt_title: str
) -> list[Notification]:
    """The messages for one destination: the most severe alerts one by one, then, if there are
    more than ``max_notifications``, one digest of the rest (so at most that many messages)."""
    ranked = sorted(
        alerts,
        key=lambda a: (-LEVELS.index(a.severity), -(a.risk_score or 0), a.raised_at, a.title),
    )
    single = ranked if len(ranked) <= max_notifications else ranked[: max_notifications - 1]
    messages = [
        Notification(
            title=f"[{a.severity}] {a.title}",
            body=message_body(a),
            severity=a.severity,
            alerts=(a,),
        )
        for a in single
    ]
    rest = tuple(ranked[len(single) :])
    if rest:
        messages.append(
            Notification(
                title=f"[digest] {len(rest)} more alert(s) from {hunt_title}",
                body=digest_body(rest, hunt_title),
                severity=rest[0].severity,
                alerts=rest,
                digest=True,
            )
        )
    return messages


def deliver(
    due: dict[str, list[AlertRecord]],
    destinations: dict[str, Destination],
    *,
    max_notifications: int,
    hunt_title: str,
    retry: RetryPolicy = DEFAULT_RETRY,
    warn: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send ``due`` (destination label → alerts owed to it) and report what got through."""
    report = DeliveryReport()
    for label, alerts in due.items():
        messages = plan_messages(alerts, max_notifications, hunt_title)
        try:
            sink = sink_for(destination_url(destinations[label]))
        except AlertError as error:
            _failed(report, messages, error.message)
            warn(error.message)
            continue
        for index, message in enumerate(messages):
            problem = _send(sink.deliver, message, retry, sleep)
            if problem is not None:
                warn(f"{label}: {problem}; {len(messages) - index} message(s) stay pending")
                _failed(report, messages[index:], f"{label}: {problem}")
                break
            report.messages += 1
            report.digests += message.digest
            for record in message.alerts:
                report.delivered.setdefault(record.alert_id, []).append(label)
    return report


def _send(
    send: Callable[[Notification], None],
    message: Notification,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
) -> str | None:
    """None once sent; else the last error after ``retry.tries`` tries."""
    pause = retry.backoff
    last = ""
    for attempt in range(retry.tries):
        try:
            send(message)
            return None
        except AlertError as error:
            last = error.message
        if attempt + 1 < retry.tries:
            sleep(pause)
            pause *= 2
    return last


def _failed(report: DeliveryReport, messages: Sequence[Notification], error: str) -> None:
    for message in messages:
        for record in message.alerts:
            report.errors[record.alert_id] = error
