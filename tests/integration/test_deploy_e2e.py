"""Deployments on a real Prefect server with a real process worker: ``huntline deploy`` is
idempotent and removes a deleted book's deployment; a cron deployment's scheduled run covers
its scheduled window; intel-watch runs on the ``watch:`` schedule of intel.yaml; a pulled
intel update triggers a retro-hunt that alerts on the sample data, naming the indicator and
its feed."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from inline_books import scheduled_book
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterName,
)

from huntline.schedule.coverage import load_coverage
from huntline.storage import open_store

pytestmark = pytest.mark.server
EVERY_MINUTE = scheduled_book(
    "0b7c9f52-6a1e-4d3b-8f20-5c4e1a9d7b63", "Every minute", head="tags: [attack.execution]\n"
)


WATCH = 'watch: {cron: "7 */2 * * *", timezone: Europe/Paris}'


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    """A copy of the repository's entrypoints, sample feed and retro-hunt book."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    for entrypoint in ("hunt.py", "intel_watch.py"):
        shutil.copy(repo_root / "flows" / entrypoint, root / "flows" / entrypoint)
    (root / "hunts/data/intel").mkdir(parents=True)
    for name in (
        "intel.yaml",
        "intel_retro_processes.yaml",
        "data/sample_endpoint_bundle.json",
        "data/intel/sample_indicators.json",
    ):
        shutil.copy(repo_root / "hunts" / name, root / "hunts" / name)
    (root / "hunts/every_minute.yaml").write_text(EVERY_MINUTE.replace("30s", "1m"))
    feeds = root / "hunts/intel.yaml"
    default = 'watch: {cron: "*/15 * * * *", timezone: UTC}'
    assert default in feeds.read_text()
    feeds.write_text(feeds.read_text().replace(default, WATCH))
    return root


def finished_runs(client: SyncPrefectClient, deployment: str) -> list[Any]:
    runs = client.read_flow_runs(
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment]))
    )
    return [run for run in runs if run.state and run.state.is_final()]


def wait_for_run(client: SyncPrefectClient, deployment: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = finished_runs(client, deployment)
        if done:
            return done[0]
        time.sleep(1)
    raise TimeoutError(f"no finished run of {deployment} after {timeout:.0f} s")


def test_deploy_schedule_and_intel_trigger(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    worker: Path,
    project: Path,
    tmp_path: Path,
) -> None:
    dry = cli("deploy", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("create") == 3
    first = cli("deploy")
    assert first.returncode == 0, first.stderr
    assert (project / "deployments/huntline.yaml").is_file()
    again = cli("deploy", "--dry-run")
    assert again.stdout.count("unchanged") == 3 and "create" not in again.stdout

    deployment = client.read_deployment_by_name("hunt/intel-retro-processes")
    assert deployment.global_concurrency_limit is not None
    assert deployment.global_concurrency_limit.limit == 1
    assert "indicators" in deployment.parameter_openapi_schema["properties"]
    assert deployment.parameter_openapi_schema["properties"]["source"]["description"]

    watch = client.read_deployment_by_name("intel-watch/intel-watch")
    [schedule] = client.read_deployment_schedules(watch.id)
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("7 */2 * * *", "Europe/Paris")

    pulled = cli("intel", "pull")
    assert pulled.returncode == 0, pulled.stderr
    retro = wait_for_run(client, "intel-retro-processes", 180)
    assert retro.state.is_completed(), retro.state
    assert retro.parameters["indicators"]["file_name"] == ["mimi.exe"]
    assert retro.parameters["intel_feed"] == "sample"
    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[retro.id]))
    )
    alerts = [a for a in artifacts if a.key == "alerts"]
    assert "mimi.exe matches file_name mimi.exe from intel feed sample" in str(alerts[0].data)

    scheduled = wait_for_run(client, "every-minute", 150)
    assert scheduled.state.is_completed(), scheduled.state
    store = open_store(str(tmp_path / "store"))
    coverage = load_coverage(store, "0b7c9f52-6a1e-4d3b-8f20-5c4e1a9d7b63")
    stop = scheduled.expected_start_time  # the window ends at the scheduled time
    assert coverage.covers(stop - timedelta(minutes=2))
    assert coverage.covers(stop - timedelta(seconds=1))

    (project / "hunts/every_minute.yaml").unlink()
    removed = cli("deploy")
    assert removed.returncode == 0, removed.stderr
    assert "remove" in removed.stdout
    names = {d.name for d in client.read_deployments()}
    assert "every-minute" not in names and "intel-retro-processes" in names
