"""Issue 23, item 9, on the real server (``prefect server start``) with a real process worker:
after an outage, the newest scheduled run catches up the gap, and the late runs whose windows
it covered end at once in a Completed state named Skipped, with no task run (nothing fetched).

The runs are created as the scheduler makes them (Scheduled, at past minutes: late), in the
order the incident showed (newest first); the book's own cron fires once a year, so the
scheduler adds none during the test."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from inline_books import scheduled_book
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import Scheduled

from huntline.schedule.coverage import load_coverage, record_coverage
from huntline.storage import open_store
from huntline.window import Window

pytestmark = pytest.mark.server
HUNT_ID = "3c5e7a9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d"
BOOK = scheduled_book(
    HUNT_ID, "Late runs", '{cron: "0 3 1 1 *", timezone: UTC, overlap: 30s, max_catchup: 1h}'
)


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    shutil.copy(repo_root / "flows/hunt.py", root / "flows/hunt.py")
    (root / "hunts/data").mkdir(parents=True)
    shutil.copy(repo_root / "hunts/data/sample_endpoint_bundle.json", root / "hunts/data")
    (root / "hunts/late.yaml").write_text(BOOK)
    return root


def run_at(client: SyncPrefectClient, deployment_id: Any, at: datetime) -> Any:
    return client.create_flow_run_from_deployment(deployment_id, state=Scheduled(scheduled_time=at))


def wait_final(client: SyncPrefectClient, run_id: Any, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} not final after {timeout:.0f} s")


def test_late_runs_of_a_covered_window_are_skipped(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    worker: Path,
    tmp_path: Path,
) -> None:
    deployed = cli("deploy")
    assert deployed.returncode == 0, deployed.stderr
    deployment = client.read_deployment_by_name("hunt/late")
    store = open_store(str(tmp_path / "store"))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    minute = timedelta(minutes=1)
    record_coverage(store, HUNT_ID, Window(now - 20 * minute, now - 4 * minute))  # then down

    newest = wait_final(client, run_at(client, deployment.id, now).id)
    assert newest.state.is_completed() and newest.state.name == "Completed", newest.state
    assert load_coverage(store, HUNT_ID).gaps(Window(now - 20 * minute, now)) == []

    late = [run_at(client, deployment.id, now - n * minute) for n in (3, 2, 1)]
    for created in late:
        run = wait_final(client, created.id)
        assert run.state.is_completed() and run.state.name == "Skipped", run.state
        assert "is already covered by earlier runs" in (run.state.message or "")
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
        assert tasks == [], "a skipped run fetches nothing"
