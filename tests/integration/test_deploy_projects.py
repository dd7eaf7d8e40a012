"""Issue 23, items 6, 7 and 11 on a real Prefect server with a real process worker.

- 7: deploying a second folder (``team-b/``) planned the removal of every other deployment,
  the intel watcher included; each folder is now a project that removes only its own.
- 6: ``huntline deploy --hunts /elsewhere/books`` crashed ("is not in the subpath"); a folder
  outside the checkout deploys, and its run starts in the books' own repository (pull step and
  working directory), reading the book and its data relative to it.
- 11: a deploy that changes nothing says so, and does not suggest starting a worker that runs.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient

pytestmark = pytest.mark.server
Cli = Callable[..., subprocess.CompletedProcess[str]]

BOOK = """\
id: {id}
title: {title}
steps:
  - get: procs
    entity: process
    from: file://{data}
    where: "[process:name = 'cmd.exe']"
"""


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    """A checkout: huntline's entrypoints, hunts/ with the sample feed and one book."""
    root = tmp_path / "checkout"
    (root / "flows").mkdir(parents=True)
    for entrypoint in ("hunt.py", "intel_watch.py"):
        shutil.copy(repo_root / "flows" / entrypoint, root / "flows" / entrypoint)
    (root / "hunts/data/intel").mkdir(parents=True)
    for name in ("intel.yaml", "data/intel/sample_indicators.json"):
        shutil.copy(repo_root / "hunts" / name, root / "hunts" / name)
    shutil.copy(repo_root / "hunts/data/sample_endpoint_bundle.json", root / "hunts/data")
    data = "hunts/data/sample_endpoint_bundle.json"
    (root / "hunts/shells.yaml").write_text(
        BOOK.format(id="5e0c1d2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a", title="Shells", data=data)
    )
    (root / "team-b").mkdir()
    (root / "team-b/shells.yaml").write_text(
        BOOK.format(id="6f1d2e3b-4c5d-4e6f-9a7b-8c9d0e1f2a3b", title="Team B shells", data=data)
    )
    return root


@pytest.fixture(autouse=True)
def leave_no_deployments(client: SyncPrefectClient) -> Iterator[None]:
    """The session's server is shared: remove what these tests deployed (with schedules)."""
    before = {deployment.id for deployment in client.read_deployments()}
    yield
    for deployment in client.read_deployments():
        if deployment.id not in before:
            for schedule in client.read_deployment_schedules(deployment.id):
                client.delete_deployment_schedule(deployment.id, schedule.id)
            client.delete_resource_owned_automations(f"prefect.deployment.{deployment.id}")
            client.delete_deployment(deployment.id)


def test_a_second_folder_removes_nothing_of_the_first(cli: Cli, client: SyncPrefectClient) -> None:
    first = cli("deploy")
    assert first.returncode == 0, first.stderr
    plan = cli("deploy", "--hunts", "team-b/", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "remove" not in plan.stdout, plan.stdout
    assert "create" in plan.stdout and "team-b-shells" in plan.stdout
    second = cli("deploy", "--hunts", "team-b/")
    assert second.returncode == 0, second.stderr
    names = {d.name: d for d in client.read_deployments()}
    assert {"shells", "intel-watch", "team-b-shells"} <= set(names)
    assert "huntline-project:team-b" in names["team-b-shells"].tags
    again = cli("deploy", "--dry-run")
    assert "remove" not in again.stdout and "nothing to change" in again.stdout, again.stdout


def test_a_deleted_book_is_removed_from_its_own_project_only(
    cli: Cli, client: SyncPrefectClient, project: Path
) -> None:
    assert cli("deploy").returncode == 0
    assert cli("deploy", "--hunts", "team-b").returncode == 0
    (project / "team-b/shells.yaml").unlink()
    removed = cli("deploy", "--hunts", "team-b")
    assert removed.returncode == 0, removed.stderr
    names = {d.name for d in client.read_deployments()}
    assert "team-b-shells" not in names and {"shells", "intel-watch"} <= names


def test_books_outside_the_checkout_deploy_and_run_from_their_repository(
    cli: Cli, client: SyncPrefectClient, worker: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "team-repo"
    (elsewhere / ".git").mkdir(parents=True)
    (elsewhere / "books/data").mkdir(parents=True)
    shutil.copy(
        Path(__file__).parents[2] / "hunts/data/sample_endpoint_bundle.json",
        elsewhere / "books/data/endpoint.json",
    )
    (elsewhere / "books/remote_shells.yaml").write_text(
        BOOK.format(
            id="7a2e3f4c-5d6e-4f7a-8b9c-0d1e2f3a4b5c",
            title="Remote shells",
            data="books/data/endpoint.json",  # relative to the team's repository
        )
    )
    deployed = cli("deploy", "--hunts", str(elsewhere / "books"))
    assert deployed.returncode == 0, deployed.stderr
    assert "Traceback" not in deployed.stderr and "unexpected error" not in deployed.stderr
    deployment = client.read_deployment_by_name("hunt/books-remote-shells")
    assert deployment.entrypoint == "huntline.prefect.hunt_flow:hunt"
    assert deployment.parameters["book"] == "books/remote_shells.yaml"
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(elsewhere)}}
    ]
    assert (elsewhere / "deployments/books.yaml").is_file()
    run = client.create_flow_run_from_deployment(deployment.id)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run = client.read_flow_run(run.id)
        if run.state is not None and run.state.is_final():
            break
        time.sleep(1)
    assert run.state is not None and run.state.is_completed(), run.state

    unchanged = cli("deploy", "--hunts", str(elsewhere / "books"))
    assert unchanged.returncode == 0, unchanged.stderr
    assert "nothing to change" in unchanged.stdout and "did change" not in unchanged.stdout
    assert "a worker polls the huntline pool (" in unchanged.stdout
    assert "start one with huntline server start" not in unchanged.stdout
