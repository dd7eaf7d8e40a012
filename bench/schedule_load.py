"""Scheduling load: N cron deployments on one Prefect server, and how late their runs start.

Per backend (SQLite, PostgreSQL), starts its own Prefect server (``huntline.prefect.server``, a
fresh PREFECT_HOME; for PostgreSQL, huntline's own cluster from ``huntline.prefect.postgres``, as
``huntline server start --database postgresql`` starts it), registers N deployments of the
do-nothing flow ``bench/schedule_noop.py`` with cron ``*/5 * * * *`` through Prefect's client,
starts one worker (``huntline.prefect.worker``; ``--worker process``: Prefect's, polls every second,
prefetch 5 s, ``--limit``; ``--worker pool``: ``huntline worker``, ``--limit`` long-lived
processes), then watches K cron ticks and a grace period after the last one. For every run due in
those ticks it reads the state history and reports, relative to the run's expected start time:

- slip: the run's ``start_time`` (Running) minus its expected start (the goal: p95 < 5 s);
- pickup: the worker's Pending state (when it took the run);
- the server side: when the scheduler created the run (negative: ahead of time), and when the
  late-runs service marked it Late (it does so ``late_runs.after_seconds``, 15 s, after).

A run not started when the grace period ends counts as slipping more than its wait so far
(shown as "unstarted"). Also reported: the CPU seconds of the worker with everything it started
(from its start to the end, its processes' start included) and of the server, per run started:
on the shared machine the fair figure, where wall-clock rates depend on the others' load. The
server listens on a free port, never Prefect's 4200. Everything started is stopped at the end,
also on error, Ctrl-C or SIGTERM.

    .venv/bin/python bench/schedule_load.py --quick         # 20 deployments, */1, 1 tick
    .venv/bin/python bench/schedule_load.py --backend both  # 500, */5, 2 ticks
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from huntline.processes import stop_group

BENCH = Path(__file__).resolve().parent
POOL = "schedule-load"
#: How long a stopped process may take before it is killed: the measurement is over.
GRACE = 30.0
GOAL_P95 = 5.0


@dataclass(frozen=True)
class Run:
    """One flow run's times, in seconds after its expected start (None: never reached)."""

    created: float
    pending: float | None
    late: float | None
    running: float | None


@dataclass(frozen=True)
class Result:
    backend: str
    deployments: int
    #: Seconds between ticks: every deployment is due once per interval.
    interval: float
    registration: float
    ticks: list[datetime]
    waited_until: datetime
    runs: list[Run]
    #: Runs of any tick (earlier ones included) that started from the first tick to the end.
    started_in_window: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    #: CPU seconds of the worker's process tree and of the server's, while the worker ran.
    worker_cpu: float
    server_cpu: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=2, help="cron ticks to observe")
    parser.add_argument("--every", type=int, default=5, help="cron interval in minutes")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--grace", type=float, default=180.0, help="seconds to wait after the last tick"
    )
    parser.add_argument(
        "--worker-limit", type=int, default=10, help="flow runs the worker runs at once"
    )
    parser.add_argument(
        "--worker",
        choices=["process", "pool"],
        default="process",
        help="process: Prefect's process worker; pool: huntline worker (long-lived processes)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke: 20 deployments, */1, 1 tick")
    args = parser.parse_args()
    if args.quick:
        args.deployments, args.every, args.ticks, args.grace = 20, 1, 1, 60.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so every `finally` runs
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        work = Path(tempfile.mkdtemp(prefix=f"huntline-schedload-{backend}-"))
        work.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach work/postgres
        # Worker and flow-run processes inherit this: nothing touches ~/.prefect.
        os.environ["PREFECT_HOME"] = str(work / "client")
        try:
            results.append(run_backend(backend, work, args))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report(results[-1], args.worker_limit)
    if len(results) > 1:
        print()
        for result in results:
            report(result, args.worker_limit, brief=True)


def run_backend(backend: str, work: Path, args: argparse.Namespace) -> Result:
    from huntline.prefect.postgres import stop_postgres
    from huntline.prefect.server import start_local_server
    from huntline.prefect.server_port import keep_port

    load_before = os.getloadavg()
    print(f"[{backend}] load before: {_load(load_before)}", flush=True)
    with ExitStack() as stack:  # unwinds last-started first: server, database
        database = "postgresql" if backend == "postgres" else "sqlite"
        stack.callback(stop_postgres, work / "postgres")  # a no-op on SQLite
        (work / "prefect").mkdir()
        keep_port(work / "prefect", _free_port())
        server = start_local_server(
            work / "prefect", lambda line: print(f"[{backend}] {line}"), database
        )
        if server.pid:
            stack.callback(stop_group, server.pid, GRACE)
        return measure(backend, work, args, [server.api_url], [server.pid], load_before)


def measure(
    backend: str,
    work: Path,
    args: argparse.Namespace,
    api_urls: list[str],
    server_pids: list[int | None],
    load_before: tuple[float, float, float],
) -> Result:
    """Register the deployments through the first API, start one worker (``--worker``,
    ``--worker-limit``) per URL of ``api_urls`` (bench/multi_server.py: one per API server),
    watch the ticks and read the runs back; ``server_pids``: the trees whose CPU is the
    server's."""
    from huntline.prefect.worker import start_worker

    cron = f"*/{args.every} * * * *"
    registration = asyncio.run(_register(api_urls[0], args.deployments, cron))
    print(
        f"[{backend}] registered {args.deployments} deployments ({cron}) in {registration:.1f} s",
        flush=True,
    )
    with ExitStack() as stack:
        workers = []
        for index, api_url in enumerate(api_urls):
            limit = max(1, args.worker_limit // len(api_urls))
            home = work / f"worker-{index}"
            workers.append(start_worker(home, api_url, POOL, BENCH, limit, kind=args.worker))
            stack.callback(_stop_worker, workers[-1])
        server_cpu = sum(_tree_cpu(pid) for pid in server_pids)
        # A tick at least a minute away: the scheduler service loops every 60 s.
        first = _next_tick(datetime.now(UTC) + timedelta(seconds=60), args.every)
        ticks = [first + timedelta(minutes=args.every * i) for i in range(args.ticks)]
        until = ticks[-1] + timedelta(seconds=args.grace)
        print(
            f"[{backend}] observing ticks {', '.join(f'{t:%H:%M:%S}' for t in ticks)} UTC, "
            f"until {until:%H:%M:%S}",
            flush=True,
        )
        while (left := (until - datetime.now(UTC)).total_seconds()) > 0:
            time.sleep(min(left, 30.0))
        load_after = os.getloadavg()
        worker_cpu = sum(_tree_cpu(pid) for pid in workers)
        server_cpu = sum(_tree_cpu(pid) for pid in server_pids) - server_cpu
    # the workers are stopped: no new starts while the runs are read
    runs, started = asyncio.run(_collect(api_urls[0], ticks, until))
    return Result(
        backend,
        args.deployments,
        args.every * 60.0,
        registration,
        ticks,
        until,
        runs,
        started,
        load_before,
        load_after,
        worker_cpu,
        server_cpu,
    )


def _tree_cpu(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its live descendants, each with its reaped children's."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(_tree_cpu(child) for child in _children(pid))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop_worker(pid: int) -> None:
    """Stop the worker and the flow-run processes it started (in sessions of their own).

    On SIGTERM a worker drains and may go on starting due runs for minutes (seen with runs due
    every minute), so it gets SIGKILL after 30 s, and its runs too: the measurement is over.
    """
    children = _children(pid)
    stop_group(pid, GRACE)
    for child in children + [grandchild for c in children for grandchild in _children(c)]:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _next_tick(after: datetime, every: int) -> datetime:
    """The first ``*/every`` minute boundary at or after ``after``."""
    minute = after.replace(second=0, microsecond=0)
    if minute < after:
        minute += timedelta(minutes=1)
    while minute.minute % every:
        minute += timedelta(minutes=1)
    return minute


async def _register(api_url: str, count: int, cron: str) -> float:
    """Create the work pool, then ``count`` deployments one by one; the seconds they took."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import DeploymentScheduleCreate, WorkPoolCreate
    from prefect.client.schemas.schedules import CronSchedule

    async with PrefectClient(api_url) as client:
        await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        flow_id = await client.create_flow_from_name("schedule-noop")
        started = time.perf_counter()
        for index in range(count):
            await client.create_deployment(
                flow_id=flow_id,
                name=f"load-{index:04d}",
                entrypoint="schedule_noop.py:noop",
                work_pool_name=POOL,
                schedules=[DeploymentScheduleCreate(schedule=CronSchedule(cron=cron))],
                pull_steps=[
                    {"prefect.deployments.steps.set_working_directory": {"directory": str(BENCH)}}
                ],
            )
        return time.perf_counter() - started


async def _collect(api_url: str, ticks: list[datetime], until: datetime) -> tuple[list[Run], int]:
    """Every run due at ``ticks``, with the times of its states; and how many runs (of any
    tick) started from the first tick to ``until``: the worker's throughput."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    due = FlowRunFilter(
        expected_start_time=FlowRunFilterExpectedStartTime(
            after_=ticks[0] - timedelta(seconds=1), before_=ticks[-1] + timedelta(seconds=1)
        )
    )
    # The server compares coalesce(start_time, expected_start_time): without is_null_ a run
    # that never started but is due in the window would count too.
    window = FlowRunFilter(
        start_time=FlowRunFilterStartTime(after_=ticks[0], before_=until, is_null_=False)
    )
    async with PrefectClient(api_url) as client:
        started = await client.count_flow_runs(flow_run_filter=window)
        flow_runs: list[Any] = []
        while page := await client.read_flow_runs(
            flow_run_filter=due,
            sort=FlowRunSort.ID_DESC,  # unique: pages by offset neither overlap nor skip
            limit=200,
            offset=len(flow_runs),
        ):
            flow_runs.extend(page)
        gate = asyncio.Semaphore(8)

        async def one(flow_run: Any) -> Run:
            async with gate:
                states = await client.read_flow_run_states(flow_run.id)
            expected = flow_run.expected_start_time

            def first_of(name: str) -> float | None:
                times = [s.timestamp for s in states if s.name == name]
                return (min(times) - expected).total_seconds() if times else None

            return Run(
                created=(flow_run.created - expected).total_seconds(),
                pending=first_of("Pending"),
                late=first_of("Late"),
                running=first_of("Running"),
            )

        return list(await asyncio.gather(*(one(flow_run) for flow_run in flow_runs))), started


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; ``inf`` stands for a run that never got there."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _seconds(value: float) -> str:
    return "unstarted" if math.isinf(value) else f"{value:.1f} s"


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def report(result: Result, worker_limit: int, brief: bool = False) -> None:
    runs = result.runs
    started = [run for run in runs if run.running is not None]
    # A run still waiting at the end ("unstarted") slipped at least the grace period.
    cap = (result.waited_until - result.ticks[0]).total_seconds()
    slips = [run.running if run.running is not None else math.inf for run in runs]
    expected = result.deployments * len(result.ticks)
    if not slips:
        print(f"{result.backend}: no runs observed (expected {expected})")
        return
    p50, p95, worst = (_percentile(slips, share) for share in (0.5, 0.95, 1.0))
    met = "met" if p95 < GOAL_P95 else "NOT met"
    if brief:
        print(
            f"{result.backend:8} {len(runs):5} runs, {len(started):5} started: slip p50 "
            f"{_seconds(p50)}, p95 {_seconds(p95)}, max {_seconds(worst)}; "
            f"registration {result.registration:.1f} s; goal (p95 < {GOAL_P95:.0f} s) {met}"
        )
        return
    print(f"\n== {result.backend}: {result.deployments} deployments, worker --limit {worker_limit}")
    print(
        f"registration          {result.registration:8.1f} s "
        f"({result.registration / result.deployments * 1000:.0f} ms per deployment)"
    )
    print(f"runs observed         {len(runs):8} (expected {expected}), started {len(started)}")
    rows = [
        ("created (scheduler)", [run.created for run in runs]),
        ("marked Late (server)", [run.late for run in runs if run.late is not None]),
        ("Pending (worker)", [v if (v := run.pending) is not None else math.inf for run in runs]),
        ("Running = slip", slips),
    ]
    print(f"{'seconds after expected start':28} {'p50':>9} {'p95':>9} {'max':>9}   runs")
    for name, values in rows:
        if values:
            cells = " ".join(f"{_seconds(_percentile(values, s)):>9}" for s in (0.5, 0.95, 1))
            print(f"{name:28} {cells}   {len(values)}")
    needed = result.deployments / result.interval
    print(
        f"worker throughput     {result.started_in_window / cap:8.2f} runs/s "
        f"({result.started_in_window} runs of any tick started in the {cap:.0f} s from the "
        f"first tick to the end; keeping up needs {needed:.2f} runs/s)"
    )
    if result.started_in_window:
        print(
            f"CPU per run started   worker {result.worker_cpu / result.started_in_window:.2f} s "
            f"(its tree {result.worker_cpu:.0f} CPU-s), server "
            f"{result.server_cpu / result.started_in_window:.2f} s ({result.server_cpu:.0f} CPU-s)"
        )
    print(f"goal p95 slip < {GOAL_P95:.0f} s: {met}")
    print(
        f"load average (1/5/15 min) before {_load(result.load_before)}, "
        f"at the end {_load(result.load_after)}"
    )


if __name__ == "__main__":
    main()
