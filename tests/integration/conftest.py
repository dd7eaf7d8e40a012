"""Fixtures of the integration tests: the deploy-and-run trio ``cli``, ``client`` and ``worker``
(each works in the test module's own ``project`` fixture), HTTP bundle servers, and a private
MariaDB server for the suite, loaded with rows in the stix-shifter ``mysql`` schema.

The server is started from Debian's ``mariadb-server`` binaries as root, in its own data
directory under pytest's tmp dir, listening on 127.0.0.1 and a free port only. It takes about a
second to initialise and start. A server that cannot start fails the tests loudly: this suite
exists to prove the real path, so it must never skip around it.

The table has the columns the connector's ``to_stix_map.json`` maps (``source_ipaddr``,
``process_name``, ``filename``, ``entry_time`` in epoch milliseconds, ...). The rows come from
:func:`generated_rows` and travel on the fixture (``mariadb.rows``, ``mariadb.window_start``),
so tests compute what they expect from the same rows without importing this conftest.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient

from huntline.processes import free_port

#: The window most tests query; generated rows fall inside and outside it.
MYSQL_WINDOW_START = datetime(2021, 3, 1, tzinfo=UTC)
MYSQL_WINDOW_STOP = datetime(2021, 3, 2, tzinfo=UTC)
PROCESS_NAMES = ("cmd.exe", "powershell.exe", "svchost.exe", "explorer.exe")
COLUMNS = {
    "source_ipaddr": "VARCHAR(64)",
    "dest_ipaddr": "VARCHAR(64)",
    "source_port": "INT",
    "dest_port": "INT",
    "protocol": "VARCHAR(16)",
    "url": "TEXT",
    "username": "VARCHAR(64)",
    "filename": "VARCHAR(255)",
    "sha256hash": "CHAR(64)",
    "md5hash": "CHAR(32)",
    "file_path": "VARCHAR(512)",
    "process_id": "INT",
    "process_name": "VARCHAR(255)",
    "process_arguments": "TEXT",
    "process_created_time": "BIGINT",
    "entry_time": "BIGINT NOT NULL",
}


@dataclass(frozen=True)
class MariaDB:
    """A running server and the database, table and login the tests use."""

    host: str
    port: int
    database: str
    table: str
    user: str
    password: str
    rows: list[dict[str, Any]] = field(repr=False)
    window_start: datetime = MYSQL_WINDOW_START
    window_stop: datetime = MYSQL_WINDOW_STOP

    @staticmethod
    def epoch_ms(moment: datetime) -> int:
        """``moment`` the way the table stores ``entry_time``."""
        return epoch_ms(moment)

    def connection(self, **options: Any) -> dict[str, Any]:
        """The stix-shifter ``connection`` for the events table."""
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "options": {"table": self.table, **options},
        }

    def config(self, password: str | None = None) -> dict[str, Any]:
        """The stix-shifter ``config``; a different ``password`` makes a bad login."""
        return {"auth": {"username": self.user, "password": password or self.password}}


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def generated_rows() -> list[dict[str, Any]]:
    """40 rows inside the window (10 of each process name) and 24 outside it.

    Inside: one every 30 minutes from 00:15. Outside: a day before and a day after, so a query
    without START/STOP (mysql's default: no time filter) would find them too.
    """
    rows = []
    inside = [MYSQL_WINDOW_START + timedelta(minutes=15 + 30 * i) for i in range(40)]
    before = [MYSQL_WINDOW_START - timedelta(hours=24) + timedelta(hours=i) for i in range(12)]
    after = [MYSQL_WINDOW_STOP + timedelta(hours=2 + i) for i in range(12)]
    for index, moment in enumerate(inside + before + after):
        name = PROCESS_NAMES[index % len(PROCESS_NAMES)]
        rows.append(
            {
                "source_ipaddr": f"10.0.{index // 250}.{index % 250 + 1}",
                "dest_ipaddr": "192.168.1.10" if index % 2 else "203.0.113.7",
                "source_port": 49152 + index,
                "dest_port": 443 if index % 3 else 22,
                "protocol": "tcp",
                "url": None,
                "username": f"user{index % 5}",
                "filename": name,
                "sha256hash": f"{index:064x}",
                "md5hash": f"{index:032x}",
                "file_path": "C:\\Windows\\System32",
                "process_id": 1000 + index,
                "process_name": name,
                "process_arguments": f"{name} /task {index}",
                "process_created_time": epoch_ms(moment) - 1000,
                "entry_time": epoch_ms(moment),
            }
        )
    return rows


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
        if found:
            return found
    pytest.fail(
        f"MariaDB is not installed ({' / '.join(names)} not found): apt-get install mariadb-server",
        pytrace=False,
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _connect_as_root(socket_path: Path) -> Any:
    import pymysql  # comes with aiomysql, which stix-shifter's mysql module needs anyway

    return pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True)


def _wait_ready(process: subprocess.Popen[bytes], socket_path: Path, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mariadbd exited with {process.returncode}:\n{_tail(log)}", False)
        try:
            _connect_as_root(socket_path).close()
            return
        except Exception:
            time.sleep(0.1)
    pytest.fail(f"mariadbd not ready after 60 s:\n{_tail(log)}", pytrace=False)


def _load(server: MariaDB, socket_path: Path) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    db = _connect_as_root(socket_path)
    try:
        with db.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {server.database}")
            cursor.execute(f"CREATE USER '{server.user}'@'%' IDENTIFIED BY '{server.password}'")
            cursor.execute(f"GRANT SELECT ON {server.database}.* TO '{server.user}'@'%'")
            cursor.execute(f"CREATE TABLE {server.database}.{server.table} ({columns})")
            cursor.executemany(
                f"INSERT INTO {server.database}.{server.table} VALUES ({placeholders})",
                [tuple(row[name] for name in COLUMNS) for row in server.rows],
            )
    finally:
        db.close()


@contextmanager
def running_mariadb(root: Path, rows: list[dict[str, Any]]) -> Iterator[MariaDB]:
    """A MariaDB server on 127.0.0.1 with ``rows`` in ``hunt.events``, its files under ``root``;
    stopped on exit. (Also used by ``bench/fetch_mysql.py``.)"""
    install_db = _binary("mariadb-install-db", "mysql_install_db")
    server_binary = _binary("mariadbd", "mysqld")
    datadir, socket_path, log = root / "data", root / "mysqld.sock", root / "error.log"
    installed = subprocess.run(
        [
            install_db,
            "--no-defaults",
            f"--datadir={datadir}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        pytest.fail(f"mariadb-install-db failed:\n{installed.stderr[-2000:]}", pytrace=False)
    port = free_port()
    process = subprocess.Popen(
        [
            server_binary,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={socket_path}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--user=root",
            f"--pid-file={root / 'mysqld.pid'}",
            f"--log-error={log}",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(process, socket_path, log)
        server = MariaDB(
            host="127.0.0.1",
            port=port,
            database="hunt",
            table="events",
            user="hunter",
            password="Hunt3r-pa55word",
            rows=rows,
        )
        _load(server, socket_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A MariaDB server on 127.0.0.1 with the ``hunt.events`` table loaded; stopped at the end."""
    with running_mariadb(tmp_path_factory.mktemp("mariadb"), generated_rows()) as server:
        yield server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def bundle_server(
    shared_data: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving the shared sample bundles, the sample hunt's bundle,
    and a malformed one; yields its base URL."""
    root = tmp_path_factory.mktemp("bundles")
    for bundle in [
        *(shared_data / "stix").glob("*.json"),
        *(repo_root / "hunts/data").glob("*.json"),
    ]:
        shutil.copy(bundle, root / bundle.name)
    (root / "malformed.json").write_text('{"type": "bundle", "objects": [}')
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def huntline(
    repo_root: Path, prefect_server: Any
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``huntline`` command as a user would, from the repository root, against the
    session's Prefect server. Keyword ``env`` adds environment variables."""
    return command_runner(repo_root, prefect_server.api_url, timeout=600)


def command_runner(
    cwd: Path, api_url: str, base_env: dict[str, str] | None = None, timeout: float = 300
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run(*args, env=None)``: the ``huntline`` command in ``cwd`` against the server at
    ``api_url``, with ``base_env`` and then ``env`` added to this process's environment."""
    import os
    import sys

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "PREFECT_API_URL": api_url, **(base_env or {}), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "huntline.cli", *args],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def artifacts_of(prefect_server: Any) -> Callable[[str], list[dict[str, Any]]]:
    """The artifacts of a flow run, as the Prefect server's API returns them."""
    import httpx

    def artifacts(flow_run_id: str) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{prefect_server.api_url}/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
            timeout=10,
        )
        result: list[dict[str, Any]] = response.raise_for_status().json()
        return result

    return artifacts


@pytest.fixture
def cli(
    project: Path, prefect_server: Any, tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``huntline`` in the test module's ``project`` fixture (a copy of the entrypoints and
    the books it deploys) against the session's server, with a store under ``tmp_path``."""
    store = {"HUNTLINE_STORAGE": str(tmp_path / "store")}
    return command_runner(project, prefect_server.api_url, store)


@pytest.fixture
def client(prefect_server: Any) -> Iterator[SyncPrefectClient]:
    """A synchronous Prefect client of the session's server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}),
        get_client(sync_client=True) as opened,
    ):
        yield opened


@pytest.fixture
def worker(
    project: Path, prefect_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A process worker on the ``huntline`` pool, running flows in the module's ``project`` with
    the same store as ``cli``; stopped (with its flow runs) after the test."""
    from huntline.prefect.worker import start_worker, stop_worker

    monkeypatch.setenv("HUNTLINE_STORAGE", str(tmp_path / "store"))
    home = tmp_path / "worker"
    start_worker(home, prefect_server.api_url, "huntline", project)
    yield home
    stop_worker(home)


@contextmanager
def reachable_state() -> Iterator[Path]:
    """A state directory the ``postgres`` user can reach (pytest's tmp dirs are 0700)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="huntline-pg-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def own_server_runner(
    repo_root: Path, state: Path
) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """``huntline`` from the repository root with ``state`` as its state directory and no
    configured server, so it starts (and finally stops) its own."""
    import os
    import sys

    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    environment.update(HUNTLINE_STATE_DIR=str(state), HUNTLINE_STORAGE=str(state / "store"))

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "huntline.cli", *args],
            cwd=repo_root,
            env={**environment, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )

    try:
        yield run
    finally:
        run("server", "stop")


@pytest.fixture
def pg_state() -> Iterator[Path]:
    """A state directory the ``postgres`` user can reach (pytest's tmp dirs are 0700)."""
    with reachable_state() as path:
        yield path


@pytest.fixture
def huntline_in(
    repo_root: Path, pg_state: Path
) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """``huntline`` from the repository root with ``pg_state`` as its state directory and no
    configured server, so it starts (and finally stops) its own."""
    with own_server_runner(repo_root, pg_state) as run:
        yield run
