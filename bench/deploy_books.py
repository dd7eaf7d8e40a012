"""Registration speed: ``huntline deploy`` of N generated books, then again with nothing changed.

Starts its own Prefect server (SQLite, or PostgreSQL with ``--database postgresql``; a fresh
PREFECT_HOME), writes N books into a temporary project (copies of ``hunts/credential_dumping.yaml``
with their own id, title and cron minute; every 50th a copy of ``hunts/intel_retro_processes.yaml``,
so intel triggers are registered too, with ``hunts/intel.yaml`` beside them), then times, each a
fresh ``huntline deploy --hunts books`` process (its start and the books' loading included),
its wall time, its CPU time and the server's CPU time meanwhile (the machine is shared: CPU is
the fair figure under load):

1. the first deploy (N created);
2. a redeploy with nothing changed;
3. a redeploy after one book is edited (one updated);
4. a redeploy after one book is deleted (one removed).

``--checkout DIR`` runs the same four deploys with another checkout's ``flows/`` first on
PYTHONPATH, on a server of its own, so a change is compared side by side with the code before it:

    .venv/bin/python bench/deploy_books.py --books 500 --checkout /tmp/huntline-before
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--checkout", type=Path, help="also time this checkout, side by side")
    args = parser.parse_args()
    sides = [("this checkout", REPO)]
    if args.checkout:
        sides.append((f"checkout {args.checkout}", args.checkout.resolve()))
    results: list[tuple[str, list[tuple[str, str]]]] = []
    for label, checkout in sides:
        print(f"== {label}: load average {_load()}", flush=True)
        results.append((label, measure(checkout, args.books, args.database)))
    print(f"\n{args.books} books, {args.database}:")
    for label, times in results:
        cells = "; ".join(f"{step} {figures}" for step, figures in times)
        print(f"  {label}: {cells}")


def measure(checkout: Path, count: int, database: str) -> list[tuple[str, str]]:
    from huntline.prefect.postgres import stop_postgres
    from huntline.prefect.server import start_local_server
    from huntline.prefect.server_port import keep_port
    from huntline.processes import stop_group

    work = Path(tempfile.mkdtemp(prefix="huntline-deploybench-"))
    work.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach work/postgres
    env = {
        **os.environ,
        "PREFECT_HOME": str(work / "client"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": str(checkout / "flows"),
        "HUNTLINE_STATE_DIR": str(work / "state"),
    }
    os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
    project = work / "project"
    books = write_books(project / "books", count)
    (work / "prefect").mkdir()
    keep_port(work / "prefect", _free_port())  # not Prefect's 4200, which others may use
    server = start_local_server(work / "prefect", lambda line: None, database)
    env["PREFECT_API_URL"] = server.api_url
    times = []
    try:
        times.append(("create", deploy(project, env, server.pid, f"{count + 1} changed")))
        times.append(("unchanged", deploy(project, env, server.pid, "nothing to change")))
        edited = books / "hunt_0001.yaml"
        edited.write_text(edited.read_text().replace("title: ", "title: Edited ", 1))
        times.append(("one edited", deploy(project, env, server.pid, "(1 changed)")))
        (books / "hunt_0002.yaml").unlink()
        times.append(("one removed", deploy(project, env, server.pid, "(1 changed)")))
    finally:
        if server.pid:
            stop_group(server.pid, 30)
        stop_postgres(work / "postgres")
        shutil.rmtree(work, ignore_errors=True)
    return times


def write_books(books: Path, count: int) -> Path:
    """``count`` books: scheduled copies of credential_dumping, every 50th an intel retro-hunt."""
    books.mkdir(parents=True)
    (books / "data").symlink_to(REPO / "hunts" / "data")
    (books / "intel.yaml").write_text(
        (REPO / "hunts" / "intel.yaml").read_text().replace("path: hunts/", "path: books/")
    )
    scheduled = (REPO / "hunts" / "credential_dumping.yaml").read_text()
    intel = (REPO / "hunts" / "intel_retro_processes.yaml").read_text()
    for index in range(count):
        text = intel if index % 50 == 49 else scheduled
        text = re.sub(r"(?m)^id: .*$", f"id: {uuid.uuid4()}", text, count=1)
        text = re.sub(r"(?m)^title: ", f"title: Book {index} - ", text, count=1)
        text = text.replace('cron: "5 * * * *"', f'cron: "{index % 60} * * * *"')
        (books / f"hunt_{index:04d}.yaml").write_text(text)
    return books


def deploy(project: Path, env: dict[str, str], server: int | None, expect: str) -> str:
    """One deploy: wall s, its CPU s, the server's CPU s meanwhile."""
    command = [sys.executable, "-m", "huntline.cli", "deploy", "--hunts", "books"]
    server_before = _cpu_of(server)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"deploy failed:\n{output[-3000:]}")
    said = output.splitlines()[0] if output else ""
    figures = (
        f"{seconds:.1f} s wall, {cpu:.1f} CPU-s, server {_cpu_of(server) - server_before:.1f} "
        f"CPU-s (load average {_load()})"
        + ("" if expect in said else f"; expected {expect!r}, it said: {said}")
    )
    print(f"  {expect}: {figures}", flush=True)
    return figures


def _cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system, its reaped children too) of ``pid`` and its children."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if pid is not None and (stat.parent.name == str(pid) or fields[1] == str(pid)):
            total += sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
