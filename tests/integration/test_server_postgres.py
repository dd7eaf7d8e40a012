"""``huntline server start --database postgresql``: huntline's own PostgreSQL cluster under the
state directory, a real ``prefect server start`` on it, a hunt run through it, and the errors a
user meets when PostgreSQL is missing, cannot start, or cannot reach the state directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from huntline.prefect.postgres import DEFAULT_BIN, running_postgres

pytestmark = pytest.mark.server

Run = Callable[..., subprocess.CompletedProcess[str]]


def _flow_runs(port: int) -> int:
    query = "SELECT count(*) FROM flow_run"
    psql = [f"{DEFAULT_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    done = subprocess.run([*psql, "-d", "prefect", "-tAc", query], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_a_hunt_runs_on_a_server_backed_by_huntlines_postgresql(
    huntline_in: Run, pg_state: Path
) -> None:
    started = huntline_in("server", "start", "--database", "postgresql", "--no-worker")
    assert started.returncode == 0, started.stderr
    assert "(database: postgresql)" in started.stdout
    assert "creating huntline's PostgreSQL cluster in" in started.stderr
    port = running_postgres(pg_state / "postgres")
    assert port is not None

    hunt = huntline_in("run", "hunts/suspicious_processes.yaml", "--json")
    assert hunt.returncode == 0, hunt.stderr
    assert _flow_runs(port) == 1  # the run is in PostgreSQL, not in a SQLite file

    status = huntline_in("server", "status")
    assert "(database: postgresql)" in status.stdout
    other = huntline_in("server", "start", "--database", "sqlite", "--no-worker")
    assert other.returncode == 1
    assert "runs on postgresql, not sqlite" in other.stderr
    assert "huntline server stop" in other.stderr

    stopped = huntline_in("server", "stop")
    assert stopped.stdout.strip() == "stopped the server"
    assert running_postgres(pg_state / "postgres") is None  # stopped with the server


def test_postgresql_not_installed_is_a_clear_error(huntline_in: Run) -> None:
    done = huntline_in(
        "server",
        "start",
        "--database",
        "postgresql",
        "--no-worker",
        env={"HUNTLINE_PG_BIN": "/nonexistent/bin"},
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-2:] == [
        "error: PostgreSQL is not installed (/nonexistent/bin/postgres is missing)",
        "  hint: install it with: apt-get install postgresql (Debian), or set HUNTLINE_PG_BIN",
    ]


def test_postgresql_that_does_not_start_names_its_log(huntline_in: Run, pg_state: Path) -> None:
    data = pg_state / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("9\n")  # a cluster of another major version
    done = huntline_in("server", "start", "--database", "postgresql", "--no-worker")
    assert done.returncode == 1
    assert "error: PostgreSQL did not start on 127.0.0.1:" in done.stderr
    assert f"hint: see {pg_state / 'postgres' / 'postgres.log'}; last output:" in done.stderr
    said = (pg_state / "postgres" / "postgres.log").read_text().strip().splitlines()[-1]
    assert said in done.stderr  # what PostgreSQL said, not only where to read it


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_a_state_directory_postgres_cannot_reach_is_a_clear_error(
    tmp_path: Path, repo_root: Path
) -> None:
    hidden = tmp_path / "state"  # under pytest's 0700 tmp dirs
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    environment["HUNTLINE_STATE_DIR"] = str(hidden)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "huntline.cli",
            "server",
            "start",
            "--database",
            "postgresql",
            "--no-worker",
        ],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        f"error: PostgreSQL runs as the 'postgres' user, which cannot reach {hidden / 'postgres'}"
        in done.stderr
    )
