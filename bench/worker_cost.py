"""Runs per second and CPU-s per run of a worker, for trivial flow runs all due at once.

Starts its own Prefect server (SQLite, a fresh PREFECT_HOME), one deployment of the do-nothing
flow ``bench/schedule_noop.py``, N flow runs of it due now, then one worker
(``huntline.prefect.worker.start_worker``: ``process`` is Prefect's process worker with
``--limit``, ``pool`` is ``huntline worker`` with ``--processes``), and waits until every run is
final. Reported:

- runs/s: N over the seconds from the first run's start to the last run's end;
- wall: from starting the worker to the last run's end (the pool worker's children start then);
- CPU-s per run: the CPU time (user + system) of the worker and everything it started, read
  from /proc just before it stops (or, if larger, what this process reaped: ``RUSAGE_CHILDREN``),
  over N; it includes the worker's own start and polling.
  The server's CPU is not in it.
- RSS: every 50 final runs (``--rss-every``), the resident size of the worker and of its child
  processes, and how much the processes grew per run between the first reading and the last.

    .venv/bin/python bench/worker_cost.py --worker process --runs 40
    .venv/bin/python bench/worker_cost.py --worker pool --runs 40
    .venv/bin/python bench/worker_cost.py --runs 10 --book hunts/suspicious_processes.yaml
    .venv/bin/python bench/worker_cost.py --runs 200 --limit 2 --recycle 1000   # memory per run

Measured on the 2-core machine, shared (load average 8-14 during the runs), SQLite, 40 runs,
4 at once, 2026-12-07:

    process worker: 0.16 runs/s (247 s first start to last end), 4.12 CPU-s per run
    pool worker:    0.93 runs/s (43 s; 75 s with its 4 processes starting), 0.51 CPU-s per run

and with --runs 300 (load 4-7; --recycle was 200 then, so no process was replaced): pool worker
1.00 runs/s, 0.31 CPU-s per run; each of the 4 processes grew from about 145 MB (after 59 runs
in all) to about 300 MB (after 300): about 2.6 MB per run, hence --recycle 50 then.

Memory per run, ``--worker pool --runs 200 --limit 2 --recycle 1000`` (no process replaced),
2026-12-07, load average 9 to 5, then 4 to 12: with Prefect's log worker stopped after each run
(which stopped the events worker too), the 2 processes grew 1.84 MB per run (161/163 MB after
54 runs in all, 300/293 MB after 200), 0.29 CPU-s per run; with both kept running for the
process's life (:mod:`huntline.prefect.run_slot`), 0.13 MB per run (112/110 MB after 51 runs,
125/116 MB after 200), 0.23 CPU-s per run; with one API client per process as well (run_slot's
SyncClientContext), load 10-12: 0.07 MB per run (106/110 MB after 52 runs, 108/119 MB after
200), 0.19 CPU-s per run. The sample hunt, same day, load 6-15,
``--book hunts/suspicious_processes.yaml --runs 60 --limit 2 --recycle 1000 --rss-every 20``:
0.80 MB per run (403/396 MB after 20 runs in all, 415/416 after 60), 0.13 runs/s, 0.91 CPU-s
per run; after the one client and huntline.yamlfile keeping no YAML nodes, load 4-7: 0.40 MB
per run (398/393 MB after 20, 405/402 after 60), 0.25 runs/s, 0.78 CPU-s per run. Hence
``huntline worker --recycle 200`` by default.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
POOL = "worker-cost"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=["process", "pool"], default="pool")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--limit", type=int, default=4, help="runs at once")
    parser.add_argument(
        "--recycle",
        type=int,
        help="pool worker: runs a process does before it is replaced (huntline worker's "
        "default unless given; above --runs, no process is replaced)",
    )
    parser.add_argument(
        "--rss-every", type=int, default=50, help="read the RSS every this many final runs (50)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for the runs to be final (600, or 10 per run if more)",
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the server's database (huntline's own PostgreSQL cluster with postgresql): "
        "SQLite's locks under hundreds of due runs made creating 1,000 of them crawl",
    )
    parser.add_argument(
        "--book",
        help="run this hunt book through flows/hunt.py instead of the do-nothing flow (relative "
        "to the repository, e.g. hunts/suspicious_processes.yaml)",
    )
    args = parser.parse_args()
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    work = Path(tempfile.mkdtemp(prefix="huntline-workercost-"))
    work.chmod(0o755)  # PostgreSQL runs as the postgres user and must reach work/postgres
    os.environ["PREFECT_HOME"] = str(work / "client")
    os.environ["HUNTLINE_STORAGE"] = str(work / "store")  # the hunts' outputs, thrown away
    from huntline.prefect.postgres import stop_postgres
    from huntline.prefect.server import start_local_server
    from huntline.prefect.server_port import keep_port
    from huntline.processes import stop_group

    (work / "prefect").mkdir()
    with socket.socket() as probe:  # a free port, not Prefect's 4200 that others may use
        probe.bind(("127.0.0.1", 0))
        keep_port(work / "prefect", probe.getsockname()[1])
    try:
        server = start_local_server(work / "prefect", database=args.database)
        try:
            os.environ["PREFECT_API_URL"] = server.api_url
            measure(args, work)
        finally:
            if server.pid:
                stop_group(server.pid, 30)
    finally:
        stop_postgres(work / "postgres")  # a no-op on SQLite
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from huntline.prefect.worker import start_worker, stop_worker

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        flow, entrypoint, folder = (
            ("hunt", "flows/hunt.py:hunt", BENCH.parent)
            if args.book
            else ("schedule-noop", "schedule_noop.py:noop", BENCH)
        )
        deployment = client.create_deployment(
            flow_id=client.create_flow_from_name(flow),
            name="cost",
            entrypoint=entrypoint,
            parameters={"book": args.book} if args.book else {},
            work_pool_name=POOL,
            pull_steps=[
                {"prefect.deployments.steps.set_working_directory": {"directory": str(folder)}}
            ],
        )
        ids = [client.create_flow_run_from_deployment(deployment).id for _ in range(args.runs)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        recycle = ("--recycle", str(args.recycle)) if args.recycle else ()
        start_worker(
            work / "worker",
            str(client.api_url),
            POOL,
            BENCH,
            args.limit,
            kind=args.worker,
            options=recycle,
        )
        rss: list[tuple[int, tuple[int, list[int]]]] = []
        timeout = args.timeout or max(600.0, 10.0 * args.runs)
        while True:
            runs = [client.read_flow_run(flow_run_id) for flow_run_id in ids]
            final = sum(1 for run in runs if run.state is not None and run.state.is_final())
            if final // args.rss_every > len(rss):
                rss.append((final, _tree_rss(work / "worker")))
            if final == len(runs):
                break
            if time.monotonic() - started > timeout:
                _print_rss(rss)
                stop_worker(work / "worker")  # not left polling after this process ends
                raise SystemExit(f"runs not final after {timeout:g} s ({final} final)")
            time.sleep(1)
        wall = time.monotonic() - started
        # Read before stopping: the worker's CPU and its processes', those it reaped included
        # (reaping the stopped worker is not always this process's, so rusage may miss it).
        tree = _tree_cpu(_worker_pid(work / "worker"))
        stop_worker(work / "worker")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = max(tree, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    first = min(run.start_time for run in runs if run.start_time)
    last = max(run.end_time for run in runs if run.end_time)
    busy = (last - first).total_seconds()
    states: dict[str, int] = {}
    for run in runs:
        name = run.state.name if run.state else "?"
        states[name] = states.get(name, 0) + 1
    print(
        f"{args.worker} worker, {args.runs} runs of {args.book or 'the do-nothing flow'}, "
        f"{args.limit} at once: {states}\n"
        f"  runs/s {args.runs / busy:.2f} (first start to last end {busy:.1f} s; "
        f"wall from worker start {wall:.1f} s)\n"
        f"  CPU-s per run {cpu / args.runs:.2f} (worker tree {cpu:.1f} CPU-s)"
    )
    _print_rss(rss)


def _print_rss(rss: list[tuple[int, tuple[int, list[int]]]]) -> None:
    for final, (own, children) in rss:
        print(f"  after {final:4} runs: RSS (MB) of the worker {own}, of its processes {children}")
    if len(rss) > 1 and len(rss[0][1][1]) == len(rss[-1][1][1]):
        # Each run grows the process it ran in: the processes' growth over the runs between.
        (first, (_, before_mb)), (last, (_, after_mb)) = rss[0], rss[-1]
        print(
            f"  its processes grew {(sum(after_mb) - sum(before_mb)) / (last - first):.2f} MB "
            f"per run from run {first} to run {last} (if none was replaced between)"
        )


def _worker_pid(home: Path) -> int:
    import json

    return int(json.loads((home / "worker.json").read_text())["pid"])


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants, each with its reaped children's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(_tree_cpu(child) for child in children)


def _tree_rss(home: Path) -> tuple[int, list[int]]:
    """The resident sizes in MB of the recorded worker and of its child processes."""
    import json

    pid = str(json.loads((home / "worker.json").read_text())["pid"])
    own, children = 0, []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        size = int(fields.get("VmRSS", "0 kB").split()[0]) // 1024
        if status.parent.name == pid:
            own = size
        elif fields.get("PPid", "").strip() == pid:
            children.append(size)
    return own, children


if __name__ == "__main__":
    main()
