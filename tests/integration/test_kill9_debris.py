"""``kill -9`` during a run's container step and during its fetch (issue 22, item 8): the killed
process leaves its analytics container running and its spool on disk, as before; the next start
(:func:`huntline.debris.clean_up`, which every hunt flow run calls first) removes both, and
leaves a live run's alone.

Each run here is a child process calling the step functions a flow run calls, with its own
scratch root, so nothing of other runs on this machine is touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from huntline import debris, scratch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import stixgen  # noqa: E402

APPLY = """
import sys
import pandas as pd
from huntline.book import ApplyStep
from huntline.steps.apply import apply_step
from huntline.steps.context import RunContext
from huntline.storage import open_store
from huntline.tables import write_table

store_root, image, run_id = sys.argv[1:]
context = RunContext(storage=store_root, hunt_id="h", run_date="d", flow_run_id=run_id)
procs = pd.DataFrame({"id": ["p1"], "type": ["process"], "name": ["a"]})
table = write_table(open_store(store_root), "h/d/r/00_get/procs.parquet", procs)
step = ApplyStep.model_validate({"apply": image, "on": "procs", "timeout": "10m"})
apply_step(context, "01_apply", step, {"procs": table})
"""

FETCH = """
import sys
from datetime import UTC, datetime
from huntline.book import GetStep
from huntline.steps.get import fetch_step
from huntline.steps.context import RunContext
from huntline.window import Window

store_root, bundle = sys.argv[1:]
context = RunContext(storage=store_root, hunt_id="h", run_date="d", flow_run_id="fetch")
step = GetStep.model_validate({"get": "procs", "entity": "process", "from": f"file://{bundle}"})
window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
fetch_step(context, "00_get", step, window)
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(scratch.ENV_ROOT, str(tmp_path / "scratch"))
    monkeypatch.setattr(scratch, "_mine", None)
    return tmp_path / "scratch"


@pytest.fixture
def start(root: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(script: str, *args: str) -> subprocess.Popen[bytes]:
        environment = {**os.environ, scratch.ENV_ROOT: str(root)}
        log = (tmp_path / f"child-{len(started)}.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, "-c", script, *args], env=environment, stdout=log, stderr=log
        )
        started.append(child)
        return child

    yield run
    for child in started:
        child.kill()
        child.wait()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def kill9(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()


@pytest.mark.docker
def test_kill9_during_the_container_step(
    root: Path,
    tmp_path: Path,
    start: Callable[..., subprocess.Popen[bytes]],
    build_test_image: Callable[..., str],
    docker_client: Any,
) -> None:
    image = build_test_image(
        "analytics_hang", REPO / "tests" / "files", "huntline-test-analytics-hang:test"
    )
    run_id = f"kill9-{uuid.uuid4().hex[:8]}"
    store = (tmp_path / "store").as_uri()
    killed, live = start(APPLY, store, image, run_id), start(APPLY, store, image, run_id + "-live")

    def containers(run: str) -> list[Any]:
        label = f"huntline.flow_run={run}"
        return docker_client.containers.list(all=True, filters={"label": label})

    orphan = wait_for(lambda: containers(run_id), "the analytics container")[0]
    survivor = wait_for(lambda: containers(run_id + "-live"), "the live run's container")[0]
    work = wait_for(lambda: list(root.glob("run-*/apply-*")), "the apply work directory")
    kill9(killed)
    time.sleep(1)
    orphan.reload()
    assert orphan.status == "running", "kill -9 runs no finally: the container runs on"
    owner = Path(orphan.labels["huntline.owner"].partition(":")[2])
    assert owner.is_dir() and owner.parent == root

    removed = debris.clean_up()
    assert f"container {orphan.name}" in removed and f"directory {owner}" in removed
    assert containers(run_id) == [] and not owner.exists()
    assert len(containers(run_id + "-live")) == 1, "a live run's container is left alone"
    assert any(path.exists() for path in work), "and so is its work directory"
    kill9(live)
    debris.clean_up()
    assert containers(run_id + "-live") == []
    assert not Path(survivor.labels["huntline.owner"].partition(":")[2]).exists()


def test_kill9_during_the_fetch(
    root: Path, tmp_path: Path, start: Callable[..., subprocess.Popen[bytes]]
) -> None:
    bundle = tmp_path / "big.json"
    stixgen.write_bundle(bundle, 60_000, seed=3)
    child = start(FETCH, (tmp_path / "store").as_uri(), str(bundle))
    spool = wait_for(lambda: list(root.glob("run-*/entities-*/*")), "the fetch spool", 60)
    assert child.poll() is None, "the fetch is still going when it is killed"
    kill9(child)
    owner = spool[0].parent.parent
    assert owner.is_dir(), "kill -9 runs no finally: the spool stays"
    assert debris.clean_up() == [f"directory {owner}"]
    assert not owner.exists()


VICTIM = """
import time
from prefect import flow

@flow(name="kill9-victim")
def victim() -> None:
    time.sleep(600)

victim()
"""


@pytest.mark.server
def test_a_killed_flow_run_is_marked_crashed(
    prefect_server: Any,
    start: Callable[..., subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Heartbeats every 30 s (Prefect's minimum); the automation is made for 12 s beats (36 s
    without one) so the test is short, and removed after: no other flow runs meanwhile."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from huntline.prefect.zombies import NAME, ensure_zombie_automation

    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30")
    with (
        temporary_settings({PREFECT_API_URL: prefect_server.api_url}),
        get_client(sync_client=True) as client,
    ):
        ensure_zombie_automation(client, heartbeat_seconds=12)
        ensure_zombie_automation(client, heartbeat_seconds=12)  # idempotent: still one
        assert len(client.read_automations_by_name(NAME)) == 1
        try:
            child = start(VICTIM)

            def victim_run() -> Any:
                runs = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=["kill9-victim"])),
                    flow_run_filter=FlowRunFilter(),
                )
                return next((run for run in runs if run.state and run.state.is_running()), None)

            run = wait_for(victim_run, "the victim flow run to be RUNNING", 120)
            time.sleep(3)  # its first heartbeat goes out as it starts
            kill9(child)
            killed_at = time.monotonic()

            def crashed() -> Any:
                state = client.read_flow_run(run.id).state
                return state if state is not None and state.is_crashed() else None

            state = wait_for(crashed, "the killed run to be marked Crashed", 150)
            print(f"marked Crashed {time.monotonic() - killed_at:.0f} s after kill -9")
            assert state.message == "no heartbeat for 36 s: the process that ran this flow run died"
        finally:
            for automation in client.read_automations_by_name(NAME):
                client.delete_automation(automation.id)
