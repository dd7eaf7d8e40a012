"""``prefect --no-prompt deploy --all`` from the root ``prefect.yaml`` registers the same
deployments as ``huntline deploy``: flow, entrypoint, pull step, parameters and their schema,
description, tags, version, work pool, concurrency limit, cron schedules and intel triggers.

Both run in a copy of the repository's entrypoints, books and committed ``prefect.yaml`` (so the
pull step, the folder deployed from, is the same for both), against the session's server; the
deployments are deleted afterwards, so other tests see none of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists

from huntline.cli.schedule import DEFAULT_POOL
from huntline.schedule.project import PROJECT
from huntline.schedule.specs import load_specs

pytestmark = pytest.mark.server


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    for entrypoint in ("hunt.py", "intel_watch.py", "pack.py"):
        shutil.copy(repo_root / "flows" / entrypoint, root / "flows" / entrypoint)
    shutil.copytree(repo_root / "hunts", root / "hunts")
    shutil.copy(repo_root / PROJECT, root / PROJECT)
    return root


def registered(client: SyncPrefectClient, names: list[str]) -> dict[str, dict[str, Any]]:
    """What the server holds for each deployment name, in comparable form."""
    found: dict[str, dict[str, Any]] = {}
    for deployment in client.read_deployments():
        if deployment.name not in names:
            continue
        automations = client.read_resource_related_automations(
            f"prefect.deployment.{deployment.id}"
        )
        found[deployment.name] = {
            "flow": client.read_flow(deployment.flow_id).name,
            "entrypoint": deployment.entrypoint,
            "pull_steps": deployment.pull_steps,
            "parameters": deployment.parameters,
            "schema": deployment.parameter_openapi_schema,
            "enforce_schema": deployment.enforce_parameter_schema,
            "description": deployment.description,
            "tags": sorted(deployment.tags),
            "version": deployment.version,
            "pool": deployment.work_pool_name,
            "limit": deployment.global_concurrency_limit.limit
            if deployment.global_concurrency_limit
            else None,
            "schedules": sorted(
                (s.schedule.cron, s.schedule.timezone, s.active)  # type: ignore[union-attr]
                for s in client.read_deployment_schedules(deployment.id)
            ),
            "triggers": sorted(
                (
                    a.name,
                    str(a.trigger.match),
                    sorted(a.trigger.expect),  # type: ignore[union-attr]
                    str(a.trigger.posture),  # type: ignore[union-attr]
                    a.trigger.threshold,  # type: ignore[union-attr]
                    [(action.type, action.parameters) for action in a.actions],  # type: ignore[union-attr]
                )
                for a in automations
            ),
        }
    return found


def remove(client: SyncPrefectClient, names: list[str]) -> None:
    for deployment in client.read_deployments():
        if deployment.name in names:
            client.delete_resource_owned_automations(f"prefect.deployment.{deployment.id}")
            client.delete_deployment(deployment.id)


def test_prefect_deploy_all_registers_what_huntline_deploy_registers(
    project: Path, repo_root: Path, client: SyncPrefectClient, prefect_server: Any
) -> None:
    names = [spec.name for spec in load_specs(project / "hunts", project)]
    assert len(names) >= 9 and "intel-watch" in names
    with suppress(ObjectAlreadyExists):  # prefect deploy needs the pool to exist
        client.create_work_pool(WorkPoolCreate(name=DEFAULT_POOL, type="process"))
    environment = {**os.environ, "PREFECT_API_URL": prefect_server.api_url}

    def run(*command: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    try:
        run("prefect", "--no-prompt", "deploy", "--all")
        by_prefect = registered(client, names)
        assert sorted(by_prefect) == sorted(names)
        remove(client, names)

        run("huntline.cli", "deploy")
        assert (project / PROJECT).read_text() == (repo_root / PROJECT).read_text()
        by_huntline = registered(client, names)
        for name in names:
            assert by_prefect[name] == by_huntline[name], name
        retro = by_huntline["intel-retro-processes"]
        assert retro["triggers"] and retro["schedules"] == []
        assert by_huntline["intel-watch"]["flow"] == "intel-watch"
        # the Sigma books are deployed through their pack only
        assert by_huntline["sigma-processes"]["flow"] == "pack"
        assert not any(name.startswith("proc-creation-") for name in names)
    finally:
        remove(client, names)
