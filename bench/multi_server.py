"""Scheduling load on two Prefect API servers behind one PostgreSQL, with Redis as broker.

Issue 26 item 5: does Prefect's scale-out topology raise the schedule throughput on this
machine? Per mode, in the same run and the same way as ``bench/schedule_load.py`` (whose
``measure`` it reuses: N ``*/E`` cron deployments due at once, slip p50/p95, runs started per
second, CPU-s per run):

- ``single``: ``huntline server start --database postgresql``'s topology, one ``prefect server
  start`` (API and services in one process) on huntline's PostgreSQL
  (``huntline.prefect.postgres``);
- ``multi``: the same PostgreSQL, Debian's ``redis-server``, two ``prefect server start
  --no-services`` on their own ports and one ``prefect server services start``, every one with
  Redis as messaging broker, cache, causal ordering, lease storage and Docket
  (``prefect-redis``; :data:`REDIS_SETTINGS`).

Both modes run the same workers: ``--workers`` ``huntline worker`` processes (``--worker-limit``
long-lived processes split between them); in ``multi`` worker i talks to API server i % 2. The
server CPU counts every server process of the mode (APIs, services, PostgreSQL, Redis).

``multi`` then checks that an intel event still triggers a retro-hunt there: it deploys the
sample retro-hunt book (``hunts/intel_retro_processes.yaml``) with ``huntline deploy`` through
the first API server, emits ``huntline.intel.updated`` through the second, and waits for the
triggered flow run to be created (the event crosses Redis to the services' triggers).

Everything binds to 127.0.0.1 on free ports; everything started is stopped at the end. Needs
what the product does not (the mode is not shipped: deployments/README.md, "Several API
servers"): ``apt-get install redis-server`` and ``pip install prefect-redis==0.3.0`` (the
release for Prefect 3.9; it needs no other new package).

    .venv/bin/python bench/multi_server.py --quick     # 40 deployments, */1, 1 tick
    .venv/bin/python bench/multi_server.py             # 200 deployments, */2, 1 tick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from schedule_load import GRACE, Result, _free_port, _load, measure, report

from huntline.processes import stop_group

REPO = Path(__file__).resolve().parents[1]
START_SECONDS = 120.0
#: Emits the sample feed's ``huntline.intel.updated``, as ``intel_watch`` does after a fetch.
EMIT = """
from prefect.events import emit_event
from huntline.intel.events import EVENT, resource_id
emit_event(event=EVENT, resource={"prefect.resource.id": resource_id("sample")}, payload={
    "feed": "sample", "count": 1, "truncated": False, "parquet": "",
    "indicators": {"file_name": ["bench-multi.exe"]}})
"""


def redis_settings(port: int) -> dict[str, str]:
    """The settings every server process of the multi-server topology needs (prefect-redis
    0.3.0 on Prefect 3.9.1): shared messaging, event ordering, concurrency leases, Docket."""
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
        "PREFECT_REDIS_MESSAGING_PORT": str(port),
        "PREFECT_SERVER_DOCKET_URL": f"redis://127.0.0.1:{port}/1",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=1)
    parser.add_argument("--every", type=int, default=2, help="cron interval in minutes")
    parser.add_argument("--grace", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2, help="huntline worker processes")
    parser.add_argument("--worker-limit", type=int, default=6, help="processes, all workers")
    parser.add_argument("--modes", default="single,multi")
    parser.add_argument("--quick", action="store_true", help="40 deployments, */1, 1 tick")
    args = parser.parse_args()
    if args.quick:
        args.deployments, args.every, args.ticks, args.grace = 40, 1, 1, 60.0
    args.worker = "pool"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so every `finally` runs
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.pop("PREFECT_API_URL", None)
    results: list[Result] = []
    for mode in args.modes.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"huntline-multiserver-{mode}-"))
        work.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach work/postgres
        os.environ["PREFECT_HOME"] = str(work / "client")
        try:
            with ExitStack() as stack:
                results.append(run_mode(mode, work, args, stack))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report(results[-1], args.worker_limit)
    print()
    for result in results:
        report(result, args.worker_limit, brief=True)


def run_mode(mode: str, work: Path, args: argparse.Namespace, stack: ExitStack) -> Result:
    from huntline.prefect.postgres import ensure_postgres, stop_postgres
    from huntline.prefect.server import start_local_server
    from huntline.prefect.server_port import keep_port

    load_before = os.getloadavg()
    print(f"[{mode}] load before: {_load(load_before)}", flush=True)
    stack.callback(stop_postgres, work / "postgres")
    if mode == "single":
        (work / "prefect").mkdir()
        keep_port(work / "prefect", _free_port())
        server = start_local_server(
            work / "prefect", lambda line: print(f"[{mode}] {line}"), "postgresql"
        )
        if server.pid:
            stack.callback(stop_group, server.pid, GRACE)
        pids = [server.pid, _postgres_pid(work)]
        apis = [server.api_url] * args.workers
        return measure(mode, work, args, apis, pids, load_before)
    database = ensure_postgres(work / "postgres", lambda line: print(f"[{mode}] {line}"))
    redis_port = _free_port()
    redis = _start_redis(work / "redis", redis_port)
    stack.callback(stop_group, redis, GRACE)
    environment = {
        **os.environ,
        **redis_settings(redis_port),
        "PREFECT_API_DATABASE_CONNECTION_URL": database,
    }
    apis: list[str] = []
    pids: list[int | None] = [_postgres_pid(work), redis]
    # One at a time: each API server migrates the database on start.
    for index in range(2):
        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        command = ["server", "start", "--no-services", "--host", "127.0.0.1", "--port", str(port)]
        pid = _start_prefect(work / f"api-{index}", command, environment)
        stack.callback(stop_group, pid, GRACE)
        _wait(lambda api=api: _healthy(api), work / f"api-{index}" / "prefect.log")
        print(f"[{mode}] API server {index} on {api}", flush=True)
        apis.append(api)
        pids.append(pid)
    # Services with an API URL: the automation actions (run a deployment) call the API.
    services = _start_prefect(
        work / "services",
        ["server", "services", "start"],
        {**environment, "PREFECT_API_URL": apis[0]},
    )
    stack.callback(stop_group, services, GRACE)
    pids.append(services)
    time.sleep(5)
    if (failed := _exited(services)) is not None:
        raise RuntimeError(f"prefect server services start exited ({failed}): see its log")
    workers = [apis[index % 2] for index in range(args.workers)]
    result = measure(mode, work, args, workers, pids, load_before)
    check_retro_hunt(work, apis)
    return result


def _start_prefect(home: Path, command: list[str], environment: dict[str, str]) -> int:
    home.mkdir(parents=True)
    with (home / "prefect.log").open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", *command],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**environment, "PREFECT_HOME": str(home)},
            start_new_session=True,
        )
    return process.pid


def _start_redis(home: Path, port: int) -> int:
    """Debian's redis-server on 127.0.0.1:port, no persistence; its pid once it answers."""
    home.mkdir(parents=True)
    command = [
        *("redis-server", "--bind", "127.0.0.1", "--port", str(port)),
        *("--save", "", "--appendonly", "no", "--dir", str(home)),
        *("--logfile", str(home / "redis.log")),
    ]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    ping = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"]
    _wait(
        lambda: subprocess.run(ping, capture_output=True, text=True).stdout.strip() == "PONG",
        home / "redis.log",
    )
    return process.pid


def _wait(ready: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready within {START_SECONDS:.0f} s; see {log}")
        time.sleep(1)


def _healthy(api: str) -> bool:
    from huntline.prefect.server import healthy

    return healthy(api)


def _exited(pid: int) -> int | None:
    finished, status = os.waitpid(pid, os.WNOHANG)
    return status if finished else None


def _postgres_pid(work: Path) -> int:
    return int(json.loads((work / "postgres" / "postgres.json").read_text())["pid"])


def check_retro_hunt(work: Path, apis: list[str]) -> None:
    """Deploy the sample retro-hunt through one API server, emit an intel event through the
    other, and wait for the automation to create the retro-hunt's flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    project = work / "project"
    (project / "flows").mkdir(parents=True)
    for name in ("hunt.py", "intel_watch.py"):
        shutil.copy(REPO / "flows" / name, project / "flows" / name)
    shutil.copytree(REPO / "hunts/data", project / "hunts/data")
    for name in ("intel.yaml", "intel_retro_processes.yaml"):
        shutil.copy(REPO / "hunts" / name, project / "hunts" / name)
    deploy = [sys.executable, "-m", "huntline.cli", "deploy"]
    environment = {**os.environ, "PREFECT_API_URL": apis[0], "HUNTLINE_STORAGE": str(work)}
    subprocess.run(deploy, cwd=project, env=environment, check=True, capture_output=True)
    only = DeploymentFilter(name=DeploymentFilterName(any_=["intel-retro-processes"]))
    emitted = time.monotonic()
    # A process of its own: Prefect's events client keeps the API URL it first connected to.
    emit = [sys.executable, "-c", EMIT]
    subprocess.run(emit, env={**environment, "PREFECT_API_URL": apis[1]}, check=True)
    with temporary_settings({PREFECT_API_URL: apis[0]}), get_client(sync_client=True) as client:
        while time.monotonic() - emitted < 120:
            if client.read_flow_runs(deployment_filter=only):
                print(
                    f"[multi] intel event emitted via {apis[1]} -> retro-hunt run created via "
                    f"{apis[0]} after {time.monotonic() - emitted:.1f} s"
                )
                return
            time.sleep(0.5)
    print("[multi] intel event: NO retro-hunt run within 120 s")


if __name__ == "__main__":
    main()
