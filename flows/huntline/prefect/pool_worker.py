"""``huntline worker``: a work-pool worker that runs flow runs in N long-lived processes.

Why: Prefect's process worker (and ``serve()``, and the Docker and Kubernetes workers) start a
fresh interpreter per flow run, which imports Prefect and huntline before doing any work. Measured
(``bench/worker_cost.py``: the shared 2-core machine at load 8-14, SQLite, 40 trivial runs of
one deployment due at once, 4 at a time): Prefect's process worker 0.16 runs/s and 4.12 CPU-s
per run; this worker 0.93 runs/s and 0.51 CPU-s per run, its processes' start included. What
remains per run is mostly the engine's API round trips (states, logs). With 20 deployments due
in the same minute (``bench/schedule_load.py --quick --backend sqlite --worker-limit 4``), the
start slip was p50 35.7 s, p95 past 60 s (3 of 20 unstarted) with the process worker, and p50
9.8 s, p95 16.5 s (all started) with this one.

With 500 deployments due at the same tick the slip is set by throughput: the last run waits
about 500 / runs-per-second, so p95 <= 5 s would need about 95 runs/s, out of reach for one
Prefect flow run per hunt on 2 cores (a run costs the worker and the server about 0.4 CPU-s
together). Three things here raised the throughput: a poll asks for no more due runs than there
are idle processes (:meth:`PoolWorker._due_runs`; Prefect's client asked for up to 200 each
poll, and answering them was most of the server's time), a process that comes free while runs
wait is given one at once rather than at the next poll, and a child keeps one API client and
Prefect's log and events workers for its life (:mod:`.run_slot`). Measured on PostgreSQL
(``bench/schedule_load.py --backend postgres --worker pool --ticks 3 --grace 120``: 500
deployments every 5 minutes for 15 minutes, 10 processes, 2026-12-07, load 3-11 on the shared
2 cores): 2.02 runs/s (1,457 of the 1,500 due runs started by 2 minutes after the last tick),
slip p50 89 s, p95 220 s, 0.17 CPU-s per run in the worker and 0.22 in the server; before the
last change 1.40 runs/s, 0.47 / 0.39 CPU-s. Prefect's process worker in the same setting: 0.27
runs/s, 5.31 / 1.28 CPU-s. On SQLite 1.52 runs/s (0.81 before the last change): the server's
CPU per run is 0.62 s there, so PostgreSQL is the database for hundreds of hunts.

What stays as it is: each book keeps its deployment (its schedule, concurrency limit, run
history and UI); runs still go through Prefect's engine (:mod:`huntline.prefect.run_slot` calls
``prefect.flow_engine``), so states, logs and artifacts show in the UI as with the process
worker. What this module does is the worker's part, as Prefect's ``BaseWorker`` does it: it
heartbeats to the pool, asks the server for the due runs of its pool
(``get_scheduled_flow_runs_for_work_pool``) and claims each with a Pending state
(``propose_state``), so two workers never run the same run (the server refuses the second
claim). A claimed run goes to an idle child (``multiprocessing`` spawn: a clean interpreter,
nothing inherited from the supervisor's threads).

Faults stay local to one run: a child that dies is replaced and its run marked Crashed; a run
past ``run_timeout``, or whose child's resident memory passes ``max_memory_mb`` (a leak), has
its child killed and replaced and is marked Crashed; a child is retired after ``recycle`` runs,
or when it is idle and past ``max_memory_mb``, so memory a run leaves behind is bounded. What a
trivial run left behind was Prefect's own services: the log worker, stopped after each run,
stopped the events worker too (they share one registry), and a stopped service stays in memory
for good (Prefect registers it for the interpreter's exit) with its API client (0.82 MB each, an
httpx client's SSL context with the CA bundle loaded, outside the Python heap: two a run), its
websocket and its thread; the next run started new ones. Both now run for the child's life
(:mod:`.run_slot`): each child grew 1.84 MB per trivial run before, 0.13 MB after
(``bench/worker_cost.py --worker pool --runs 200 --limit 2 --recycle 1000``, load 4-12: from
about 160 MB after 54 runs in all to 300 MB after 200 before; from 111 to 121 MB after), and the
CPU per run fell from 0.29 to 0.23 s. What remains is mostly outside the Python heap
(tracemalloc over 60 runs: about 10 KB of Python objects a run, chiefly the thread object
Prefect makes for each deployment pull step and keeps for the interpreter's exit,
``atexit.register`` in ``WorkerThread.__init__``, ``prefect/_internal/concurrency/threads.py``).
With one API client per child as well (:func:`.run_slot.serve`), the same benchmark gave 0.07 MB
per run (106/110 MB after 52 runs, 108/119 after 200) and 0.19 CPU-s per run (load 10-12). The
sample hunt grew its children 0.80 MB per run (``--book hunts/suspicious_processes.yaml --runs
60 --limit 2 --recycle 1000 --rss-every 20``: 403/396 MB after 20 runs in all, 415/416 after
60); tracemalloc then showed huntline's own YAML reader keeping every scalar node it read (with
its file's text), fixed in :mod:`huntline.yamlfile`: 0.40 MB per run after that fix and the one
client (398/393 MB after 20 runs, 405/402 after 60, load 4-7). What is left there is mostly
outside the Python heap too (tracemalloc over 24 runs before the fix: about 25 KB of Python
objects a run, half of them the YAML nodes, the rest mostly the pull-step thread above and
pandas blocks that Great Expectations hashes). 1,000 trivial runs in one process
(``bench/worker_cost.py --worker pool --runs 1000 --limit 1 --recycle 2000 --rss-every 100
--database postgresql``, 2026-12-07, load 1-3 with CI beside it): 112 MB after 102 runs, 149
after 500, 169 after 1,000 (166 already after 606): 0.06 MB per run, levelling off; 0.16 CPU-s
per run, the process's start included.

When the API fails (the server or its database is down) the worker says so once and claims
nothing until it answers again; a run that failed meanwhile and could not be marked is crashed
by the server from its missing heartbeats and retried (:mod:`huntline.prefect.zombies`).

A run cancelled from the UI (Cancelling) has its child killed and replaced and is marked
Cancelled. A run's job variables ``env`` and ``working_dir`` are applied in its child for the
run only, and ``command`` or ``PREFECT_*`` settings refused (:mod:`.run_env`).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import socket
import time
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from threading import Event
from typing import Any
from uuid import UUID

from huntline.prefect import run_env, run_slot

logger = logging.getLogger("huntline.worker")

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 30.0
#: How often children are checked (replies, deaths, time-outs) between polls of the server.
TICK_SECONDS = 0.1
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Slot:
    """One child and the run it has, if any."""

    process: BaseProcess
    conn: Connection
    run: UUID | None = None
    deadline: float = math.inf
    runs: int = 0


@dataclass(frozen=True)
class Settings:
    pool: str
    processes: int = 4
    #: Seconds a run may take before its child is killed and the run marked Crashed.
    run_timeout: float = 3600.0
    #: Runs a child does before it is replaced by a fresh one. Measured growth per run, no child
    #: replaced: 0.07 MB for a trivial run (about 110 MB after 25 runs), 0.40 MB for the sample
    #: hunt (about 400 MB after 10 runs, 405 after 30); so 200 runs add about 14 MB and 80 MB,
    #: for a new process's start (2-4 CPU-s) every 200 runs. It was 50 when a child grew 1.84 MB
    #: per trivial run (see the module docstring).
    recycle: int = 200
    #: Resident memory (MB) past which a child is killed (its run marked Crashed) or, idle,
    #: replaced: one run that leaks must not take the machine's memory from the others.
    max_memory_mb: float = 2048.0
    poll_seconds: float = POLL_SECONDS


class PoolWorker:
    """The supervisor: polls the pool, hands runs to children, watches them."""

    def __init__(self, client: Any, settings: Settings, workdir: str | None = None) -> None:
        self.client = client
        self.settings = settings
        self.workdir = workdir or os.getcwd()
        self.name = f"huntline-{socket.gethostname()}-{os.getpid()}"
        self.context = multiprocessing.get_context("spawn")
        self.slots: list[Slot] = []
        #: The last poll found more due runs than idle processes: poll again as soon as one is
        #: free rather than at the next interval.
        self.backlog = False
        #: What the API said when it last failed, while it fails (logged once).
        self.api_error: str | None = None

    def run(self, stop: Event) -> None:
        """Work until ``stop`` is set; then stop the children and mark their runs Crashed."""
        self.slots = [self._spawn() for _ in range(self.settings.processes)]
        logger.info(
            "worker %s polls pool %r with %d processes",
            self.name,
            self.settings.pool,
            len(self.slots),
        )
        next_poll = next_beat = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + HEARTBEAT_SECONDS
                freed = self.supervise()
                if now >= next_poll:
                    self.cancel_runs()
                    self.claim_due_runs()
                    next_poll = now + self.settings.poll_seconds
                elif freed and self.backlog:
                    self.claim_due_runs()
                stop.wait(TICK_SECONDS)
        finally:
            self.shutdown()

    def supervise(self) -> bool:
        """Collect finished runs; replace dead, hung and worn-out children. Whether a run
        finished (a process is free for the next)."""
        freed = False
        for index, slot in enumerate(self.slots):
            if slot.run is not None and slot.conn.poll():
                try:
                    slot.conn.recv()
                except EOFError:
                    pass
                else:
                    self._finished(slot.run, None)
                    slot.run, slot.deadline, slot.runs = None, math.inf, slot.runs + 1
                    freed = True
            if not slot.process.is_alive():
                self._lost(slot, f"its worker process died (exit code {slot.process.exitcode})")
                self.slots[index] = self._spawn()
            elif slot.run is not None and time.monotonic() > slot.deadline:
                self._kill(slot, f"it ran longer than {self.settings.run_timeout:g} s (killed)")
                self.slots[index] = self._spawn()
            elif _rss_mb(slot.process.pid) > self.settings.max_memory_mb:
                limit = f"{self.settings.max_memory_mb:g} MB"
                if slot.run is not None:
                    self._kill(slot, f"its process grew past {limit} of memory (killed)")
                else:
                    logger.info("process %s replaced: past %s of memory", slot.process.pid, limit)
                    self._retire(slot)
                self.slots[index] = self._spawn()
            elif slot.run is None and slot.runs >= self.settings.recycle:
                logger.info("process %s replaced after %d runs", slot.process.pid, slot.runs)
                self._retire(slot)
                self.slots[index] = self._spawn()
        return freed

    def cancel_runs(self) -> None:
        """Stop the children whose run was cancelled (Cancelling, from the UI or the API) and
        mark the run Cancelled, as Prefect's workers do by ending the run's process."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        from prefect.states import Cancelled

        busy = {slot.run: index for index, slot in enumerate(self.slots) if slot.run is not None}
        if not busy:
            return
        try:
            runs = self.client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(busy)))
            )
        except Exception as error:  # the server may be restarting: look again at the next poll
            self._api_failed(error)
            return
        for flow_run in runs:
            if flow_run.state is None or not flow_run.state.is_cancelling():
                continue
            index = busy[flow_run.id]
            slot = self.slots[index]
            slot.process.kill()
            slot.process.join()
            slot.conn.close()
            message = "Cancelled: the worker stopped the run's process."
            try:
                self.client.set_flow_run_state(flow_run.id, Cancelled(message=message), force=True)
            except Exception:
                logger.exception("could not mark flow run %s cancelled", flow_run.id)
            logger.info("flow run %s cancelled", flow_run.id)
            self.slots[index] = self._spawn()

    def claim_due_runs(self) -> None:
        """Claim due runs of the pool (Pending) for the idle children, and hand them over."""
        from prefect.exceptions import Abort
        from prefect.states import Pending
        from prefect.utilities.engine import propose_state_sync

        idle = [slot for slot in self.slots if slot.run is None and slot.process.is_alive()]
        if not idle:
            return
        try:
            due = self._due_runs(len(idle))
        except Exception as error:  # the server or its database may be restarting
            self._api_failed(error)
            return
        self.backlog = False
        self._api_answers()
        for response in due:
            if not idle:
                self.backlog = True
                break
            flow_run = response.flow_run
            try:
                state = propose_state_sync(self.client, Pending(), flow_run_id=flow_run.id)
            except (Abort, Exception) as error:  # Abort: another worker has it, or cancelled
                # Abort is a BaseException: uncaught, it ended this worker's loop when two
                # workers polled the same pool and the other claimed the run first.
                logger.info("did not claim flow run %s: %s", flow_run.id, error)
                continue
            if not state.is_pending():
                continue
            environment = self._environment(flow_run)
            if environment is None:
                continue
            slot = idle.pop()
            slot.run = flow_run.id
            slot.deadline = time.monotonic() + self.settings.run_timeout
            slot.conn.send((str(flow_run.id), *environment))
            logger.info("flow run %s → process %s", flow_run.id, slot.process.pid)

    def _due_runs(self, count: int) -> list[Any]:
        """At most ``count`` due runs of the pool, the earliest first. Prefect's client method
        (``get_scheduled_flow_runs_for_work_pool``) sends no limit, so the server answered every
        poll with up to 200 runs when hundreds were due (``bench/schedule_load.py``: most of the
        server's request time went to writing those answers); the same endpoint is asked for
        only as many as there are idle processes."""
        from prefect.client.schemas.responses import WorkerFlowRunResponse

        response = self.client.request(
            "POST",
            "/work_pools/{name}/get_scheduled_flow_runs",
            path_params={"name": self.settings.pool},
            json={"scheduled_before": str(_utcnow()), "limit": count},
        )
        return [WorkerFlowRunResponse.model_validate(item) for item in response.json()]

    def _environment(self, flow_run: Any) -> tuple[dict[str, str | None], str | None] | None:
        """The claimed run's ``env`` and ``working_dir`` (:mod:`.run_env`); None when they
        cannot be applied here, the run then marked Failed saying why."""
        from prefect.states import Failed

        try:
            variables = run_env.job_variables(self.client, flow_run)
            why = run_env.refusal(variables)
            if why is None:
                return run_env.run_environment(variables)
            self.client.set_flow_run_state(flow_run.id, Failed(message=why), force=True)
            logger.warning("flow run %s refused: %s", flow_run.id, why)
        except Exception:
            logger.exception("could not read the job variables of flow run %s", flow_run.id)
            self._finished(flow_run.id, "Flow run crashed: its job variables could not be read.")
        return None

    def shutdown(self) -> None:
        for slot in self.slots:
            if slot.run is None:
                self._retire(slot)
            else:
                self._kill(slot, "its worker was stopped")
        self.slots = []

    def _spawn(self) -> Slot:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=run_slot.serve, args=(child, self.workdir), name="huntline-run-slot"
        )
        process.start()
        child.close()
        return Slot(process, parent)

    def _retire(self, slot: Slot) -> None:
        with suppress(OSError):
            slot.conn.send(None)
        slot.process.join(10)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()

    def _kill(self, slot: Slot, why: str) -> None:
        slot.process.kill()
        slot.process.join()
        self._lost(slot, why)

    def _lost(self, slot: Slot, why: str) -> None:
        if slot.run is not None:
            self._finished(slot.run, f"Flow run crashed: {why}.")
        slot.conn.close()

    def _finished(self, flow_run_id: UUID, crash: str | None) -> None:
        """Mark the run Crashed if it did not reach a final state itself."""
        from prefect.states import Crashed

        try:
            state = self.client.read_flow_run(flow_run_id).state
            if state is not None and state.is_final():
                return
            message = crash or "Flow run crashed: it ended without a final state."
            self.client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)
            logger.warning("flow run %s: %s", flow_run_id, message)
        except Exception as error:  # the API fails: the zombie automation will crash it
            logger.error(
                "could not mark flow run %s crashed (%s); the server will, when its heartbeats "
                "stay missing (huntline.prefect.zombies), and then retry it",
                flow_run_id,
                _first_line(error),
            )

    def _api_failed(self, error: Exception) -> None:
        """Say once, not at every poll, that the API fails and what it said."""
        if self.api_error is None:
            self.api_error = _first_line(error)
            logger.error(
                "the Prefect API fails (%s): no run is claimed until it answers; trying again "
                "every %g s",
                self.api_error,
                self.settings.poll_seconds,
            )

    def _api_answers(self) -> None:
        if self.api_error is not None:
            logger.info("the Prefect API answers again")
            self.api_error = None

    def _heartbeat(self) -> None:
        try:
            self.client.send_worker_heartbeat(
                self.settings.pool, self.name, heartbeat_interval_seconds=HEARTBEAT_SECONDS
            )
        except Exception as error:
            self._api_failed(error)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _rss_mb(pid: int | None) -> float:
    """The resident memory of process ``pid`` in MB (Linux's /proc; 0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * PAGE_BYTES / 2**20


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def serve_pool(settings: Settings) -> None:
    """Run a worker in this process until SIGTERM or Ctrl-C, logging to stderr."""
    import signal

    from huntline.prefect.client import sync_client

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per poll in the log
    stop = Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    with sync_client() as client:
        PoolWorker(client, settings).run(stop)
