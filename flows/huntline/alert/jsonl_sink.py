"""Delivery to a local JSON lines file (``jsonl:///var/log/huntline/alerts.jsonl``).

One line per alert per notification, ``{"digest": ..., "title": ..., "alert": {...}}``, appended
under an exclusive lock so concurrent runs never interleave partial lines. For SIEM forwarders
that tail a file, and an example of a destination apprise lacks.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from urllib.parse import urlparse

import orjson

from huntline.alert.sink_protocol import Notification
from huntline.errors import AlertError


def jsonl_path(url: str) -> Path:
    """The file a ``jsonl://`` URL names (``jsonl:///abs/path`` or ``jsonl://rel/path``)."""
    parsed = urlparse(url)
    return Path(parsed.netloc + parsed.path)


def url_problem(url: str) -> str | None:
    """Why ``url`` names no file, or None."""
    if not jsonl_path(url).name:
        return f"{url!r} names no file: write jsonl:///path/to/alerts.jsonl"
    return None


class JsonlSink:
    """Append alerts to a JSON lines file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = jsonl_path(url)

    def deliver(self, notification: Notification) -> None:
        lines = b"".join(
            orjson.dumps(
                {
                    "digest": notification.digest,
                    "title": notification.title,
                    "alert": record.model_dump(mode="json"),
                }
            )
            + b"\n"
            for record in notification.alerts
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.write(lines)
                handle.flush()
        except OSError as error:
            raise AlertError(f"cannot append alerts to {self.path}: {error}") from error
