"""A source that fails part way: what was fetched stays in storage, and the error says how far
the fetch got. The source is a real HTTP server that starts answering 404 after two requests,
read through stix-shifter's stix_bundle connector (one request per page)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.server

GOOD_REQUESTS = 2
PAGE_SIZE = 5


class _FailingLater(http.server.SimpleHTTPRequestHandler):
    served = 0

    def do_GET(self) -> None:
        type(self).served += 1
        if type(self).served > GOOD_REQUESTS:
            self.send_error(404, "gone")
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_server(repo_root: Path) -> Iterator[str]:
    handler = type("Handler", (_FailingLater,), {"served": 0})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(repo_root / "hunts" / "data"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sample_endpoint_bundle.json"
    server.shutdown()
    server.server_close()


def test_failure_mid_fetch_keeps_the_pages_fetched(  # type: ignore[no-untyped-def]
    huntline, failing_server: str, tmp_path: Path
) -> None:
    book = tmp_path / "partial.yaml"
    book.write_text(
        f"""id: 2a1f7d64-3c0e-4b8e-9a55-0c6d1e9b7f10
title: a source that breaks part way
window: {{start: 2024-06-03T00:00:00Z, stop: 2024-06-04T00:00:00Z}}
steps:
  - get: procs
    entity: process
    from: {failing_server}
    where: "[process:pid > 0]"
    page_size: {PAGE_SIZE}
"""
    )
    store = tmp_path / "store"
    result = huntline("run", str(book), "--storage", f"file://{store}")
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split("error:", 1)[1].split())
    assert f"data source '{failing_server}'" in message
    assert "fetched so far:" in message and "partial.parquet" in message
    (partial,) = store.rglob("00_get/procs.partial.parquet")
    kept = pd.read_parquet(partial)
    # Two pages of five observations, each holding a process and its parent process.
    assert 0 < len(kept) <= 2 * PAGE_SIZE * 2
    assert set(kept["x_datasource"]) == {failing_server}
    assert not list(store.rglob("00_get/procs.parquet")), "no final table for a failed fetch"
