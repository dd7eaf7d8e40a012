"""A small TAXII 2.1 server for the tests, following the spec as taxii2-client expects it.

It serves one API root with one collection: the collection resource
(``GET {root}/collections/{id}/``) and its objects (``GET …/objects/``) with ``limit``/``next``
paging and the ``more``/``next`` envelope fields, all as
``application/taxii+json;version=2.1``. HTTP Basic auth is enforced when a user is set. Tests
change ``objects`` to publish indicators, and ``status`` to make the server fail.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

MEDIA_TYPE = "application/taxii+json;version=2.1"
COLLECTION_ID = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"


@dataclass
class TaxiiState:
    objects: list[dict[str, Any]] = field(default_factory=list)
    user: tuple[str, str] | None = None
    status: int | None = None  # answer every request with this status, when set
    body: bytes | None = None  # answer objects requests with this body, when set
    requests: list[str] = field(default_factory=list)


def indicator(pattern: str, name: str = "test indicator") -> dict[str, Any]:
    """A STIX 2.1 indicator object."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-12-01T00:00:00.000Z",
        "modified": "2026-12-01T00:00:00.000Z",
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-12-01T00:00:00Z",
    }


def _handler(state: TaxiiState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: Any, raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", MEDIA_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if state.user is None:
                return True
            expected = base64.b64encode(":".join(state.user).encode()).decode()
            return self.headers.get("Authorization") == f"Basic {expected}"

        def do_GET(self) -> None:
            state.requests.append(self.path)
            url = urlparse(self.path)
            query = parse_qs(url.query)
            collection = f"/api1/collections/{COLLECTION_ID}/"
            if state.status is not None:
                self._send(state.status, {"title": "failing on purpose"})
            elif not self._authorised():
                self._send(401, {"title": "unauthorised"})
            elif not self.headers.get("Accept", "").startswith("application/taxii+json"):
                self._send(406, {"title": "not acceptable"})
            elif url.path == collection:
                self._send(
                    200,
                    {
                        "id": COLLECTION_ID,
                        "title": "test indicators",
                        "can_read": True,
                        "can_write": False,
                        "media_types": ["application/stix+json;version=2.1"],
                    },
                )
            elif url.path == collection + "objects/":
                if state.body is not None:
                    self._send(200, None, state.body)
                    return
                start = int(query.get("next", ["0"])[0])
                limit = int(query.get("limit", ["0"])[0]) or len(state.objects) or 1
                page = state.objects[start : start + limit]
                more = start + limit < len(state.objects)
                envelope: dict[str, Any] = {"more": more, "objects": page}
                if more:
                    envelope["next"] = str(start + limit)
                self._send(200, envelope)
            else:
                self._send(404, {"title": f"no resource {url.path}"})

    return Handler


@contextmanager
def running_taxii_server(state: TaxiiState) -> Iterator[str]:
    """Serve ``state`` on 127.0.0.1; yields the collection's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api1/collections/{COLLECTION_ID}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
