"""Find or start the Prefect server a hunt runs against.

If ``PREFECT_API_URL`` is set, that server is used. Otherwise huntline starts a real local
server (``prefect server start`` on SQLite, bound to 127.0.0.1) under its state directory and
reuses it while it lives, so ``huntline run`` works on a fresh machine with nothing configured.
Ephemeral mode is avoided on purpose: it takes over 20 s to start on small machines and runs
no scheduler.

The port of the first start is kept for every later one (:mod:`.server_port`), so stored
flow-run links survive a restart. At that first start the port is found by binding a probe
socket and closing it, so another process can take it before the server binds it; the server
then exits saying the port is in use, and huntline tries again on another port
(:data:`START_ATTEMPTS` in all). A server only counts as started when it
answers *and* is the one just launched (still running, its own log naming its URL), so a server
someone else runs on the stolen port is never taken for ours.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huntline.errors import ServerError
from huntline.prefect.postgres import ensure_postgres, stop_postgres
from huntline.prefect.server_port import keep_port, kept_port, port_taken, wait_free
from huntline.processes import stop_group

DEFAULT_PORT = 4200
START_TIMEOUT = 180.0
START_ATTEMPTS = 3
#: The server's databases: Prefect's own SQLite file (the embedded default), or huntline's
#: PostgreSQL (:mod:`.postgres`), for hundreds of hunts or several workers.
DATABASES = ("sqlite", "postgresql")
#: What ``prefect server start`` (its own port check, or uvicorn's bind) says when the port is
#: taken.
PORT_TAKEN = re.compile(r"already in use|errno 98", re.IGNORECASE)


@dataclass(frozen=True)
class Server:
    api_url: str
    ui_url: str
    pid: int | None = None
    log: Path | None = None
    database: str = "sqlite"

    def flow_run_url(self, flow_run_id: str) -> str:
        return f"{self.ui_url}/runs/flow-run/{flow_run_id}"


def state_dir() -> Path:
    """Where huntline keeps its local server, store and logs (``HUNTLINE_STATE_DIR``)."""
    return Path(os.environ.get("HUNTLINE_STATE_DIR", ".huntline")).resolve()


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _ui_of(api_url: str) -> str:
    return api_url.removesuffix("/api")


def _record(home: Path) -> Path:
    return home / "server.json"


def running_local_server(home: Path) -> Server | None:
    """The local server recorded under ``home``, if it still answers."""
    try:
        data = json.loads(_record(home).read_text())
    except (OSError, ValueError):
        return None
    if not healthy(data["api_url"]):
        return None
    return Server(
        data["api_url"],
        _ui_of(data["api_url"]),
        data.get("pid"),
        Path(data["log"]),
        data.get("database", "sqlite"),
    )


def ensure_server(
    progress: Callable[[str], None] = lambda _: None, database: str | None = None
) -> Server:
    """The server to run against: ``PREFECT_API_URL``, or a local one, started if need be.

    ``database`` (or ``HUNTLINE_DATABASE``) chooses the local server's database when it
    starts; a running local server on another database is an error rather than a silent
    switch, since its deployments and runs live in the database it has. Without either, a
    running server is used whatever its database, and a new one starts on SQLite.

    Sets ``PREFECT_API_URL`` in this process so Prefect's client uses the server.
    """
    wanted = database or os.environ.get("HUNTLINE_DATABASE") or None
    if wanted is not None and wanted not in DATABASES:
        raise ServerError(
            f"unknown database {wanted!r} for the local Prefect server",
            hint=f"choose one of: {', '.join(DATABASES)}",
        )
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if not healthy(configured, timeout=10):
            raise ServerError(
                f"the Prefect server at PREFECT_API_URL={configured} does not answer",
                hint="start it, or unset PREFECT_API_URL to let huntline start a local one",
            )
        return Server(configured, os.environ.get("PREFECT_UI_URL", _ui_of(configured)))
    home = state_dir() / "prefect"
    server = running_local_server(home)
    if server is not None and wanted is not None and server.database != wanted:
        raise ServerError(
            f"the local Prefect server at {server.ui_url} runs on {server.database}, not {wanted}",
            hint="stop it with `huntline server stop`, then start it again with the database "
            "you want (each database keeps its own deployments and runs)",
        )
    server = server or start_local_server(home, progress, wanted or "sqlite")
    os.environ["PREFECT_API_URL"] = server.api_url
    if "prefect" in sys.modules:
        # Prefect reads its settings once, at import (a book's cron check imports it): without
        # a refresh its client would start a temporary server instead of using this one.
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    return server


def start_local_server(
    home: Path, progress: Callable[[str], None] = lambda _: None, database: str = "sqlite"
) -> Server:
    """Start ``prefect server start`` on 127.0.0.1 in the background and wait until healthy.

    With ``database="postgresql"`` huntline's own PostgreSQL (under ``home``'s sibling
    ``postgres/``) is started first and the server is pointed at it.

    A server that started under ``home`` before starts on the same port, or fails naming what
    holds it (:mod:`.server_port`). On a first start, a port taken between the probe and the
    start is retried on another one, which is then kept."""
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    url = ensure_postgres(home.parent / "postgres", progress) if database == "postgresql" else None

    def start(port: int) -> Server | None:
        return _start_on(port, home, log, progress, database, url)

    kept = kept_port(home)
    if kept is not None:  # started here before: the same address, or a clear error
        server = start(kept) if wait_free(kept) else None
        if server is None:
            raise port_taken(home, kept, healthy(f"http://127.0.0.1:{kept}/api"))
        return server
    taken: list[int] = []
    for _ in range(START_ATTEMPTS):
        port = _free_port(DEFAULT_PORT)
        server = start(port)
        if server is not None:
            return server
        taken.append(port)
        progress(f"port {port} was taken before the server could bind it; trying another")
    raise ServerError(
        f"the local Prefect server found its port taken {START_ATTEMPTS} times "
        f"(ports {', '.join(map(str, taken))})",
        hint="other processes keep taking free ports on 127.0.0.1; retry, or start a server "
        "yourself and set PREFECT_API_URL",
    )


def _start_on(
    port: int,
    home: Path,
    log: Path,
    progress: Callable[[str], None],
    database: str = "sqlite",
    database_url: str | None = None,
) -> Server | None:
    """Start the server on ``port``; None if the port turned out to be taken."""
    api_url = f"http://127.0.0.1:{port}/api"
    environment = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": api_url,
    }
    if database_url is not None:
        environment["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    environment.pop("PREFECT_API_URL", None)
    progress(f"starting a local Prefect server on {_ui_of(api_url)} (log: {log})")
    offset = log.stat().st_size if log.exists() else 0  # the log is shared by every start
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,  # outlives this command, to be reused by the next run
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        # Ours: it answers, still runs, and printed its welcome (which names its URL) after
        # its own check that the port was free.
        if healthy(api_url) and process.poll() is None and api_url in _output(log, offset):
            record = {"api_url": api_url, "pid": process.pid, "log": str(log)}
            _record(home).write_text(json.dumps({**record, "database": database}))
            keep_port(home, port)
            progress(
                f"Prefect server ready after {START_TIMEOUT - (deadline - time.monotonic()):.0f} s"
            )
            return Server(api_url, _ui_of(api_url), process.pid, log, database)
        if process.poll() is not None:
            if PORT_TAKEN.search(_output(log, offset)):
                return None
            raise ServerError(
                f"the local Prefect server exited with code {process.returncode} before it "
                "answered",
                hint=f"see {log}; last output:\n{_output(log, offset)[-2000:]}",
            )
        time.sleep(1)
    process.kill()
    raise ServerError(
        f"the local Prefect server did not become healthy within {START_TIMEOUT:.0f} s",
        hint=f"see {log}; last output:\n{_output(log, offset)[-2000:]}",
    )


def _output(log: Path, offset: int) -> str:
    """What the server started last wrote to the shared log."""
    with log.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def stop_local_server(home: Path | None = None) -> bool:
    """Stop the recorded local server, and huntline's PostgreSQL if it runs; returns whether
    the server was running."""
    home = home or state_dir() / "prefect"
    server = running_local_server(home)
    stopped = False
    if server is not None and server.pid is not None:
        _record(home).unlink(missing_ok=True)
        stopped = stop_group(server.pid)
    stop_postgres(home.parent / "postgres")  # after the server, which holds connections to it
    return stopped


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            # As uvicorn binds: a port in TIME_WAIT after a stop is free (server_port.free).
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise ServerError("no free port on 127.0.0.1 for a Prefect server")
