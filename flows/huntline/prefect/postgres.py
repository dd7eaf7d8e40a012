"""A PostgreSQL of huntline's own for the local Prefect server (``server start --database
postgresql``).

Why: Prefect's SQLite database locks under load (hundreds of scheduled deployments, several
workers; Prefect issues #10188, #16299), and PostgreSQL is the database Prefect documents for
scale. Debian's ``postgresql`` package provides the binaries; huntline runs its own cluster
under the state directory, bound to 127.0.0.1 only, so nothing system-wide is configured and
``huntline server stop`` stops it with the server. The cluster survives a stop (flow runs,
deployments and schedules are kept, as with SQLite) and keeps its port, like the server.

``initdb`` refuses to run as root, so as root the cluster belongs to Debian's ``postgres``
user and every PostgreSQL program runs as that user (``runuser``). Authentication is ``trust``
on 127.0.0.1: the cluster holds no secrets and is reachable only from this host.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from huntline.errors import ServerError
from huntline.prefect.server_port import keep_port, kept_port
from huntline.processes import free_port, stop_group

#: Debian's PostgreSQL binaries (bookworm ships 15); ``HUNTLINE_PG_BIN`` points elsewhere.
DEFAULT_BIN = "/usr/lib/postgresql/15/bin"
DATABASE = "prefect"
START_SECONDS = 60.0
INSTALL_HINT = "install it with: apt-get install postgresql (Debian), or set HUNTLINE_PG_BIN"


def _bin() -> Path:
    return Path(os.environ.get("HUNTLINE_PG_BIN", DEFAULT_BIN))


def _record(home: Path) -> Path:
    return home / "postgres.json"


def _log(home: Path) -> Path:
    return home / "postgres.log"


def database_url(port: int) -> str:
    """The SQLAlchemy URL Prefect's server takes (``PREFECT_API_DATABASE_CONNECTION_URL``)."""
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{DATABASE}"


def running_postgres(home: Path) -> int | None:
    """The port of the cluster recorded under ``home``, if its postmaster still runs."""
    try:
        record = json.loads(_record(home).read_text())
        os.kill(int(record["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return int(record["port"])


def ensure_postgres(home: Path, progress: Callable[[str], None] = lambda _: None) -> str:
    """The database URL of huntline's PostgreSQL under ``home``, started (and on first use
    created) if need be.

    Raises:
        ServerError: PostgreSQL is not installed, or did not start (naming its log).
    """
    port = running_postgres(home)
    if port is None:
        port = _start(home, progress)
    return database_url(port)


def stop_postgres(home: Path) -> bool:
    """Stop the recorded cluster (fast shutdown); returns whether it was running."""
    if running_postgres(home) is None:
        return False
    pid = int(json.loads(_record(home).read_text())["pid"])
    _record(home).unlink(missing_ok=True)
    return stop_group(pid, first=signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown


def _as_owner(home: Path) -> list[str]:
    """The command prefix that runs PostgreSQL's programs as the cluster's owner."""
    if os.geteuid() != 0:
        return []
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError as error:
        raise ServerError(
            "PostgreSQL refuses to run as root and this host has no 'postgres' user",
            hint=INSTALL_HINT,
        ) from error
    for path in (home, home / "data"):
        if path.exists():
            os.chown(path, owner.pw_uid, owner.pw_gid)
    prefix = ["runuser", "-u", "postgres", "--"]
    if subprocess.run([*prefix, "test", "-w", str(home)], capture_output=True).returncode:
        raise ServerError(
            f"PostgreSQL runs as the 'postgres' user, which cannot reach {home}",
            hint="a parent directory is not searchable by other users (mode 0700?): set "
            "HUNTLINE_STATE_DIR to a directory under a path every user can traverse",
        )
    return prefix


def _start(home: Path, progress: Callable[[str], None]) -> int:
    binaries = _bin()
    if not (binaries / "postgres").exists():
        raise ServerError(
            f"PostgreSQL is not installed ({binaries / 'postgres'} is missing)", hint=INSTALL_HINT
        )
    home.mkdir(parents=True, exist_ok=True)
    as_owner = _as_owner(home)
    data = home / "data"
    log = _log(home)
    if not (data / "PG_VERSION").exists():
        progress(f"creating huntline's PostgreSQL cluster in {data}")
        _run(
            as_owner,
            binaries / "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            log=log,
        )
    port = kept_port(home) or free_port()
    progress(f"starting PostgreSQL on 127.0.0.1:{port} (log: {log})")
    with log.open("ab") as sink:
        postmaster = subprocess.Popen(
            [
                *as_owner,
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(home),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives this command, like the server it serves
        )
    deadline = time.monotonic() + START_SECONDS
    while not _ready(binaries, port):
        if postmaster.poll() is not None or time.monotonic() > deadline:
            postmaster.kill()
            raise ServerError(
                f"PostgreSQL did not start on 127.0.0.1:{port}",
                hint=f"see {log}; last output:\n{_tail(log)}",
            )
        time.sleep(0.5)
    _record(home).write_text(json.dumps({"pid": postmaster.pid, "port": port, "log": str(log)}))
    keep_port(home, port)
    if not _database_exists(binaries, port):
        _run(
            [],
            binaries / "createdb",
            *_client(port),
            DATABASE,
            log=log,
        )
    return port


def _client(port: int) -> list[str]:
    """How PostgreSQL's client programs reach the cluster: TCP on 127.0.0.1, as ``postgres``."""
    return ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]


def _ready(binaries: Path, port: int) -> bool:
    probe = [str(binaries / "pg_isready"), "-q", *_client(port)]
    return subprocess.run(probe, capture_output=True).returncode == 0


def _database_exists(binaries: Path, port: int) -> bool:
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
    found = subprocess.run(
        [str(binaries / "psql"), *_client(port), "-tAc", query],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() == "1"


def _run(prefix: list[str], program: Path, *arguments: str, log: Path) -> None:
    done = subprocess.run([*prefix, str(program), *arguments], capture_output=True, text=True)
    with log.open("a") as sink:
        sink.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise ServerError(
            f"{program.name} failed with exit code {done.returncode}",
            hint=f"see {log}; it said:\n{(done.stderr or done.stdout)[-2000:]}",
        )


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"
