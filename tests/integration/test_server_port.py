"""The local Prefect server survives its port being taken between the probe and the start: a
real ``prefect server start`` finds the port held (here by a fake server that even answers the
health check), exits, and huntline starts it again on another port."""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huntline.errors import ServerError
from huntline.prefect import server as server_module
from huntline.prefect.server import healthy, start_local_server

pytestmark = pytest.mark.server


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another process took: bound, listening, and answering ``/api/health``."""
    thief = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=thief.serve_forever, daemon=True)
    thread.start()
    yield int(thief.server_address[1])
    thief.shutdown()
    thief.server_close()


def test_a_port_taken_after_the_probe_is_retried_on_another(
    held_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert healthy(f"http://127.0.0.1:{held_port}/api")  # the thief looks like a server
    real = server_module._free_port
    ports = iter([held_port])
    monkeypatch.setattr(server_module, "_free_port", lambda p: next(ports, None) or real(p))
    said: list[str] = []
    started = start_local_server(tmp_path, said.append)
    try:
        assert started.api_url != f"http://127.0.0.1:{held_port}/api"
        assert healthy(started.api_url)
        assert f"port {held_port} was taken before the server could bind it; trying another" in (
            said
        )
        assert f"Port {held_port} is already in use" in (tmp_path / "server.log").read_text()
    finally:
        assert started.pid is not None
        os.killpg(started.pid, signal.SIGTERM)


def test_a_port_taken_every_time_is_a_clear_error(
    held_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "_free_port", lambda _: held_port)
    with pytest.raises(ServerError) as caught:
        start_local_server(tmp_path)
    assert caught.value.message == (
        "the local Prefect server found its port taken 3 times "
        f"(ports {held_port}, {held_port}, {held_port})"
    )
    assert "set PREFECT_API_URL" in (caught.value.hint or "")


def test_a_restarted_server_keeps_its_address_and_its_links(
    tmp_path: Path, unused_port: int
) -> None:
    """Issue 23, item 8: after a stop, a later start moved the server to a random port, so the
    flow-run URLs in manifests, runs show and webhook payloads pointed to a dead address."""
    from huntline.prefect.server import stop_local_server
    from huntline.prefect.server_port import keep_port

    keep_port(tmp_path, unused_port)  # as a first start on this port would have kept it
    first = start_local_server(tmp_path)
    try:
        assert first.api_url == f"http://127.0.0.1:{unused_port}/api"
        flow = _api("POST", f"{first.api_url}/flows/", {"name": "probe"})
        run = _api(
            "POST",
            f"{first.api_url}/flow_runs/",
            {"flow_id": flow["id"], "name": "before-restart"},
        )
        stored_link = first.flow_run_url(run["id"])  # what a manifest records
    finally:
        assert stop_local_server(tmp_path)
    second = start_local_server(tmp_path)
    try:
        assert second.api_url == first.api_url
        assert second.flow_run_url(run["id"]) == stored_link  # the stored link names it
        again = _api("GET", f"{second.api_url}/flow_runs/{run['id']}")
        assert again["name"] == "before-restart"
    finally:
        stop_local_server(tmp_path)


def _api(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the API, retried while it answers 503: a SQLite-backed server just started
    answers 503 while its services hold the database lock (seen once in CI on the POST of a
    flow run), and Prefect's own client retries 503 the same way."""
    import httpx

    for _attempt in range(10):
        response = httpx.request(method, url, json=body, timeout=10)
        if response.status_code != 503:
            return response.raise_for_status().json()
        time.sleep(1)
    return response.raise_for_status().json()


def test_a_kept_port_held_by_another_process_is_a_clear_error(
    held_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huntline.prefect import server_port
    from huntline.prefect.server_port import keep_port

    monkeypatch.setattr(server_port, "RELEASE_SECONDS", 1.0)
    keep_port(tmp_path, held_port)
    with pytest.raises(ServerError) as caught:
        start_local_server(tmp_path)
    assert caught.value.message == (
        f"the local Prefect server keeps the address http://127.0.0.1:{held_port}, but port "
        f"{held_port} is taken by another process that answers /api/health (a Prefect server "
        "not started here?)"
    )
    assert caught.value.hint == (
        "the flow-run links in manifests, runs show and delivered webhooks name this address: "
        f"free port {held_port} (stop what listens there), or delete {tmp_path / 'port'} to "
        "start on a new port (links stored before then keep the old address)"
    )
    assert not (tmp_path / "server.log").exists(), "no server was started on a held port"
