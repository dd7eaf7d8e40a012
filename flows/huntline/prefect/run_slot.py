"""One long-lived child process of ``huntline worker``: it runs flow runs one after another,
in-process, with Prefect's own engine.

Why in-process: a process worker pays a fresh interpreter importing Prefect and huntline for
every run (about 1.2 CPU-s for a trivial flow here, see :mod:`huntline.prefect.pool_worker`).
Here that import happens once per child; each run is then what Prefect's own flow-run process
does (``prefect.flow_engine``): load the run and its flow (the deployment's pull steps
included), then ``run_flow`` with the run, so its states, logs and artifacts reach the API as
with any worker.

The supervisor sends a run id (a string) with the run's ``env`` and ``working_dir`` job
variables (:mod:`huntline.prefect.run_env`) on the pipe, or None to stop; the child answers with
the run id when the run is over, whatever its outcome. It never decides about crashes or
time-outs: the supervisor owns those (it kills and replaces a child that hangs or dies).
"""

from __future__ import annotations

import logging
import os
import signal
from multiprocessing.connection import Connection
from threading import Thread
from uuid import UUID

from huntline.prefect.run_env import applied

logger = logging.getLogger("huntline.worker.slot")


def serve(conn: Connection, workdir: str) -> None:
    """Run the flow runs received on ``conn`` until None arrives or the pipe closes."""
    from prefect.context import SyncClientContext

    import huntline.prefect  # noqa: F401  # Prefect's services for the stages, imported once

    # Ctrl-C in the terminal reaches the whole group: the supervisor alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One API client for every run of this process: the engine takes the client of an open
    # SyncClientContext instead of making its own. A new client per run cost about 30 ms of
    # CPU each (ssl.create_default_context loading certifi's bundle, even for an http:// API)
    # plus new connections; with the context held, a trivial run took about 0.07 CPU-s less in
    # this process (23 runs under cProfile: 7.3 CPU-s vs 8.8).
    try:
        with SyncClientContext.get_or_create():
            _serve_runs(conn, workdir)
    finally:
        _drain_services(timeout=5)


def _serve_runs(conn: Connection, workdir: str) -> None:
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the supervisor is gone
            return
        if message is None:
            return
        run_id, env, working_dir = message
        try:
            with applied(env):  # the run's env job variable, for this run only
                os.chdir(working_dir or workdir)
                run_one(UUID(run_id))
        finally:
            os.chdir(workdir)  # the pull steps of a deployment change the directory
        conn.send(run_id)


def run_one(flow_run_id: UUID) -> None:
    """Load the run and its flow and run it through Prefect's engine; never raises, since a
    failing run is the engine's to report (the supervisor marks what stays unfinished)."""
    from prefect.flow_engine import load_flow_and_flow_run, run_flow

    try:
        flow_run, flow = load_flow_and_flow_run(flow_run_id)
        run_flow(flow, flow_run=flow_run, return_type="state")
    except Exception:  # one run's failure must not end the child
        logger.exception("flow run %s ended with an error outside its flow", flow_run_id)
    finally:
        _wait_for_events(timeout=5)


def _wait_for_events(timeout: float) -> None:
    """Wait until the events of the run are sent, keeping Prefect's services running.

    Why not stop them after each run (``APILogWorker.drain_all``, as this did before): a
    stopped service stays in memory for good, with its API client (0.82 MB each, mostly the
    SSL context of its httpx client, loaded with the CA bundle), its websocket
    (permessage-deflate buffers) and its thread, since Prefect registers each started service
    for the interpreter's exit (``threading._register_atexit``) and for the shutdown of its
    global loop; the next run then starts new ones. And Prefect's services share one registry
    (``_QueueServiceBase._instances``), so draining the log worker stopped the events worker
    too. Measured (``bench/worker_cost.py --worker pool --runs 200 --limit 2 --recycle 1000``):
    each process grew 1.84 MB per trivial run with the log worker drained after each run,
    0.13 MB without.

    The log worker sends a batch every ``PREFECT_LOGGING_TO_API_BATCH_INTERVAL`` (2 s) while
    the process lives, as in Prefect's task workers (which do not drain it per task either), so
    a run's last lines reach the API within that interval after its end; they are lost only if
    the process dies or is killed within it (the next run cancelled that soon). The events
    worker counts what it has sent, so the run's events are waited for here; in a daemon
    thread, so a server that does not answer delays the next run by ``timeout`` at most.
    """
    from prefect.events.worker import EventsWorker

    waiting = Thread(target=EventsWorker.instance().wait_until_empty, daemon=True)
    waiting.start()
    waiting.join(timeout)


def _drain_services(timeout: float) -> None:
    """Send what Prefect's log and events workers still hold and stop them, before this process
    ends (the supervisor kills a retired process that is not gone after 10 s). One call drains
    both: Prefect's services share one registry (see :func:`_wait_for_events`)."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout)
