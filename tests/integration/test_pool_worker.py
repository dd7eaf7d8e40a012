"""Issue 26, item 1, on the real server: ``huntline worker`` (long-lived processes) runs a
deployed book's flow run with Prefect's engine, its logs in the API; a run that hangs is killed
at ``--run-timeout`` and marked Crashed while, beside it, the book's run completes, a run is
cancelled, a run whose process is killed is marked Crashed and a run that leaks memory is killed
at ``--max-memory`` and marked Crashed; the processes that replaced them run the next run.
``--recycle 1`` replaces a process after each run that ends by itself."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.states import Cancelling

from huntline.prefect.deploy import ensure_work_pool
from huntline.processes import stop_group

pytestmark = pytest.mark.server
RUN_TIMEOUT = 45
BOOK = """\
id: 6a1f3c5e-7b9d-4e2f-8a0c-1d3e5f7a9b2c
title: Pool worker
window: {last: 1d}
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
    where: "[process:pid > 0]"
"""
HANG = '''\
import time

from prefect import flow


@flow(name="hang")
def hang() -> None:
    """Never ends on its own: the worker's run time-out must end it."""
    time.sleep(3600)
'''


LEAK = '''\
import time

from prefect import flow


@flow(name="leak")
def leak() -> None:
    """Holds 20 MB more every 0.1 s, up to 2 GB: the worker's memory cap must end it."""
    held = []
    for _ in range(100):
        held.append(bytearray(20 * 2**20))
        time.sleep(0.1)
'''
MAX_MEMORY_MB = 1000


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    shutil.copy(repo_root / "flows/hunt.py", root / "flows/hunt.py")
    (root / "flows/hang.py").write_text(HANG)
    (root / "flows/leak.py").write_text(LEAK)
    (root / "hunts/data").mkdir(parents=True)
    shutil.copy(repo_root / "hunts/data/sample_endpoint_bundle.json", root / "hunts/data")
    (root / "hunts/pool.yaml").write_text(BOOK)
    return root


@pytest.fixture
def pool_worker(project: Path, prefect_server: Any, tmp_path: Path) -> Iterator[Path]:
    """``huntline worker`` with two processes on the ``huntline`` pool; its log file."""
    log = tmp_path / "pool-worker.log"
    environment = {
        **os.environ,
        "PREFECT_API_URL": prefect_server.api_url,
        "HUNTLINE_STORAGE": str(tmp_path / "store"),
    }
    command = [sys.executable, "-m", "huntline.cli", "worker", "--pool", "huntline"]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                *command,
                *("--processes", "2", "--run-timeout", str(RUN_TIMEOUT), "--recycle", "1"),
                *("--max-memory", str(MAX_MEMORY_MB)),
            ],
            cwd=project,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield log
    stop_group(process.pid, 30)


def wait_final(client: SyncPrefectClient, run_id: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} not final after {timeout:.0f} s: {run.state}")


def wait_running(client: SyncPrefectClient, run_id: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.read_flow_run(run_id).state
        if state is not None and state.is_running():
            return
        time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} not running after {timeout:.0f} s")


def process_of(log: Path, run_id: Any) -> int:
    """The pid of the worker process the run went to, from the worker's log line."""
    found = re.search(rf"flow run {run_id} → process (\d+)", log.read_text())
    assert found, log.read_text()[-3000:]
    return int(found.group(1))


def logs_of(client: SyncPrefectClient, run_id: Any, awaited: str) -> str:
    """The run's log lines, once ``awaited`` is among them or after 30 s: a run's last lines
    reach the API in a batch after its final state (with any worker)."""
    deadline = time.monotonic() + 30
    while True:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        messages = "\n".join(log.message for log in logs)
        if awaited in messages or time.monotonic() > deadline:
            return messages
        time.sleep(1)


def test_runs_in_long_lived_processes_and_a_hung_run_is_crashed(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    project: Path,
    pool_worker: Path,
) -> None:
    deployed = cli("deploy")
    assert deployed.returncode == 0, deployed.stderr
    hunt = client.read_deployment_by_name("hunt/pool")
    hang, leak = (
        client.create_deployment(
            flow_id=client.create_flow_from_name(name),
            name=name,
            entrypoint=f"flows/{name}.py:{name}",
            work_pool_name="huntline",
            pull_steps=[
                {"prefect.deployments.steps.set_working_directory": {"directory": str(project)}}
            ],
        )
        for name in ("hang", "leak")
    )
    hung = client.create_flow_run_from_deployment(hang)
    time.sleep(3)  # the hung run is claimed first: the book's run then runs beside it
    first = client.create_flow_run_from_deployment(hunt.id)

    done = wait_final(client, first.id, timeout=240)
    assert done.state.is_completed(), (done.state, pool_worker.read_text()[-3000:])
    messages = logs_of(client, first.id, "Finished in state Completed()")
    assert "Finished in state Completed()" in messages, messages

    # Beside the hung run: a run cancelled from the API, then one whose process is killed.
    cancelled = client.create_flow_run_from_deployment(hang)
    wait_running(client, cancelled.id)
    client.set_flow_run_state(cancelled.id, Cancelling(), force=True)
    stopped = wait_final(client, cancelled.id, timeout=60)
    assert stopped.state.is_cancelled(), stopped.state
    assert stopped.state.message == "Cancelled: the worker stopped the run's process."

    killed = client.create_flow_run_from_deployment(hang)
    wait_running(client, killed.id)
    os.kill(process_of(pool_worker, killed.id), signal.SIGKILL)
    dead = wait_final(client, killed.id, timeout=60)
    assert dead.state.is_crashed(), dead.state
    assert dead.state.message == "Flow run crashed: its worker process died (exit code -9)."

    leaked = wait_final(client, client.create_flow_run_from_deployment(leak).id, timeout=120)
    assert leaked.state.is_crashed(), leaked.state
    assert leaked.state.message == (
        f"Flow run crashed: its process grew past {MAX_MEMORY_MB} MB of memory (killed)."
    )

    crashed = wait_final(client, hung.id, timeout=RUN_TIMEOUT + 120)
    assert crashed.state.is_crashed(), crashed.state
    assert crashed.state.message == (
        f"Flow run crashed: it ran longer than {RUN_TIMEOUT} s (killed)."
    )

    after = wait_final(client, client.create_flow_run_from_deployment(hunt.id).id, timeout=120)
    assert after.state.is_completed(), (after.state, pool_worker.read_text()[-3000:])
    assert re.search(r"process \d+ replaced after 1 runs", pool_worker.read_text())


ENV_FLOW = '''\
import os
from pathlib import Path

from prefect import flow


@flow(name="env")
def env(out: str) -> None:
    """Writes what it sees of the two variables the test sets."""
    seen = [os.environ.get(name, "<unset>") for name in ("HUNTLINE_POOL_ENV", "HUNTLINE_POOL_BASE")]
    Path(out).write_text(" ".join(seen))
'''


def test_env_job_variables_apply_to_their_run_only(
    client: SyncPrefectClient, project: Path, prefect_server: Any, tmp_path: Path
) -> None:
    """One process runs a deployment with ``env`` then one without: the second sees the
    worker's environment again, and both runs' logs reach the API; an ``env`` with a Prefect
    setting is refused, saying why."""
    (project / "flows/env.py").write_text(ENV_FLOW)
    environment = {
        **os.environ,
        "PREFECT_API_URL": prefect_server.api_url,
        "HUNTLINE_POOL_BASE": "worker",
    }
    command = [sys.executable, "-m", "huntline.cli", "worker", "--pool", "huntline"]
    with (tmp_path / "env-worker.log").open("ab") as sink:
        worker = subprocess.Popen(
            [*command, "--processes", "1", "--recycle", "10"],
            cwd=project,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ensure_work_pool(client, "huntline")
        flow_id = client.create_flow_from_name("env")

        def deployment(name: str, env: dict[str, str] | None) -> Any:
            return client.create_deployment(
                flow_id=flow_id,
                name=name,
                entrypoint="flows/env.py:env",
                work_pool_name="huntline",
                job_variables={"env": env} if env else None,
                pull_steps=[
                    {"prefect.deployments.steps.set_working_directory": {"directory": str(project)}}
                ],
            )

        given = deployment("given", {"HUNTLINE_POOL_ENV": "run", "HUNTLINE_POOL_BASE": "run"})
        plain = deployment("plain", None)
        settings = deployment("settings", {"PREFECT_LOGGING_LEVEL": "DEBUG"})
        seen, ran = [], []
        for name, deployment_id in (("given", given), ("plain", plain)):
            out = tmp_path / f"{name}.txt"
            run = client.create_flow_run_from_deployment(
                deployment_id, parameters={"out": str(out)}
            )
            done = wait_final(client, run.id, timeout=240)
            assert done.state.is_completed(), done.state
            seen.append(out.read_text())
            ran.append(run.id)
        assert seen == ["run run", "<unset> worker"]
        # Both runs' last lines reach the API while their process lives on: its log worker is
        # not stopped after each run (huntline.prefect.run_slot), it sends as it goes.
        for run_id in ran:
            messages = logs_of(client, run_id, "Finished in state Completed()")
            assert "Finished in state Completed()" in messages, messages
        refused = client.create_flow_run_from_deployment(
            settings, parameters={"out": str(tmp_path / "settings.txt")}
        )
        failed = wait_final(client, refused.id, timeout=60)
        assert failed.state.is_failed(), failed.state
        assert failed.state.message == (
            "the job variable 'env' sets PREFECT_LOGGING_LEVEL: Prefect settings cannot change "
            "per run inside huntline worker's long-lived processes; run this deployment on a "
            "pool served by Prefect's process worker (huntline server start --worker process), "
            "which starts a process per run"
        )
        assert not (tmp_path / "settings.txt").exists()
    finally:
        stop_group(worker.pid, 30)
