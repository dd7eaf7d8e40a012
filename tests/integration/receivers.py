"""Real local receivers for alert destinations: an HTTP server that records webhook posts, and an
SMTP server (aiosmtpd) that records e-mail. Both listen on 127.0.0.1 only."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any


@dataclass
class Webhook:
    """A running webhook receiver: ``url`` for apprise's ``json://``, and what it received."""

    port: int
    posts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def keys(self) -> list[str]:
        """The alert keys of the posts, in order (the ``key:`` line of each message body)."""
        return [
            line.removeprefix("key: ")
            for post in self.posts
            for line in post["message"].splitlines()
            if line.startswith("key: ")
        ]


@contextmanager
def webhook_receiver(port: int = 0) -> Iterator[Webhook]:
    """An HTTP server recording every POST's JSON body, on ``port`` (0: any free one)."""
    posts: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            posts.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(port=server.server_address[1], posts=posts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Mailbox:
    """A running SMTP receiver and the messages it accepted."""

    port: int
    messages: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=huntline@example.org&to=soc@example.org"
            "&mode=insecure"
        )


@contextmanager
def smtp_receiver(port: int) -> Iterator[Mailbox]:
    """An aiosmtpd server on 127.0.0.1:``port`` that keeps every message."""
    from aiosmtpd.controller import Controller

    box = Mailbox(port=port)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
