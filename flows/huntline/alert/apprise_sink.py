"""Delivery through apprise: Slack, Teams, e-mail, PagerDuty, JSON webhooks and ~100 more.

apprise reports a failed notification by returning False and logging why; the log is captured
so the error says why, in apprise's words, with secrets in the URL masked.
"""

from __future__ import annotations

import logging

from huntline.alert.sink_protocol import Notification
from huntline.errors import AlertError
from huntline.schemes import split_scheme

_TYPES = {"critical": "failure", "high": "failure", "medium": "warning"}


def redact(url: str) -> str:
    """``url`` with its credentials masked (apprise's privacy form), for logs and messages."""
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return f"{split_scheme(url)[0]}://(unparsable URL)"
    shown = str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    return shown.split("?", 1)[0]


def url_problem(url: str) -> str | None:
    """Why apprise cannot use ``url``, or None if it can."""
    import apprise

    if apprise.Apprise.instantiate(url) is None:
        scheme = split_scheme(url)[0]
        return (
            f"apprise cannot use {scheme}:// URL {redact(url)!r}: unknown service or a malformed "
            "URL (see the apprise wiki for the service's URL form)"
        )
    return None


class AppriseSink:
    """One apprise URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def deliver(self, notification: Notification) -> None:
        import apprise

        plugin = apprise.Apprise.instantiate(self.url)
        if plugin is None:
            raise AlertError(url_problem(self.url) or f"cannot use {redact(self.url)}")
        notifier = apprise.Apprise()
        notifier.add(plugin)
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            accepted = notifier.notify(
                title=notification.title,
                body=notification.body,
                notify_type=_TYPES.get(notification.severity, "info"),
            )
        if not accepted:
            why = " ".join(captured.getvalue().split())[-300:] or "no reason given"
            raise AlertError(
                f"{redact(self.url)} did not accept the notification: {why}",
                destination=redact(self.url),
            )
