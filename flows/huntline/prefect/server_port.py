"""The local server's one address: chosen at its first start, kept for every later one.

Why: after a stop, a later command restarted the embedded server on a random port (60437, not
4200), so the flow-run URLs already written into manifests, shown by ``runs show`` and sent in
webhook payloads pointed to a dead address. The server's database survives a restart under the
state directory, so its flow runs do too; only the address moved. Now the first start records
its port in ``<home>/port`` (kept when the server stops), and every later start binds that port
or fails saying what holds it, never moving silently.

A port our own server is still letting go of (a stop a moment ago) is waited for, up to
:data:`RELEASE_SECONDS`.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from huntline.errors import ServerError

PORT_FILE = "port"
RELEASE_SECONDS = 15.0


def kept_port(home: Path) -> int | None:
    """The port the server under ``home`` has used since its first start, if it started once."""
    try:
        return int((home / PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def keep_port(home: Path, port: int) -> None:
    (home / PORT_FILE).write_text(f"{port}\n")


def free(port: int) -> bool:
    """Whether a server could bind ``port`` on 127.0.0.1 now.

    The probe sets ``SO_REUSEADDR`` as uvicorn (asyncio) does: without it, the connections a
    stopped server leaves in TIME_WAIT for a minute make its port look taken, which is how a
    restart used to land on a random port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_free(port: int, seconds: float = RELEASE_SECONDS) -> bool:
    """Whether ``port`` is free, or becomes free within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True


def port_taken(home: Path, port: int, answers: bool) -> ServerError:
    """The error for a kept port another process holds (``answers``: it answers
    ``/api/health``, so it is probably some other Prefect server)."""
    what = "another process that answers /api/health (a Prefect server not started here?)"
    return ServerError(
        f"the local Prefect server keeps the address http://127.0.0.1:{port}, but port {port} "
        f"is taken by {what if answers else 'another process'}",
        hint=f"the flow-run links in manifests, runs show and delivered webhooks name this "
        f"address: free port {port} (stop what listens there), or delete {home / PORT_FILE} "
        "to start on a new port (links stored before then keep the old address)",
        port=port,
    )
