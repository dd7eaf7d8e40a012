"""The Docker work pool's parts that need no engine: the staged build folder and the job
template (:mod:`huntline.prefect.docker_pool`), and ``huntline pool create``'s ``--env``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from huntline.prefect.docker_pool import (
    LOCKDOWN,
    docker_pool_template,
    requirements,
    stage_runner_context,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_build_folder_holds_the_dependencies_and_the_source_only(tmp_path: Path) -> None:
    context = stage_runner_context(REPO, tmp_path / "context")
    assert (context / "Dockerfile").is_file()
    assert (context / "constraints.txt").read_text() == (REPO / "constraints.txt").read_text()
    wanted = (context / "requirements.txt").read_text()
    assert wanted == requirements(REPO / "pyproject.toml")
    assert "prefect==3.9.1" in wanted.splitlines()
    source = context / "src"
    assert (source / "flows/huntline/prefect/docker_pool.py").is_file()
    assert not list(source.rglob("*.so")) and not list(source.rglob("__pycache__"))


def test_the_template_locks_the_container_down_and_mounts_the_project_read_only(
    tmp_path: Path,
) -> None:
    template = docker_pool_template(
        "huntline-runner:local",
        tmp_path,
        {"HUNTLINE_STORAGE": "s3://b/h"},
        ["/etc/creds:/run/creds:ro"],
    )
    variables = {k: v.get("default") for k, v in template["variables"]["properties"].items()}
    assert variables["image"] == "huntline-runner:local"
    assert variables["image_pull_policy"] == "Never"
    assert variables["volumes"] == [f"{tmp_path}:{tmp_path}:ro", "/etc/creds:/run/creds:ro"]
    assert variables["env"] == {"HUNTLINE_STORAGE": "s3://b/h"}
    assert variables["container_create_kwargs"] == LOCKDOWN
    assert LOCKDOWN["read_only"] is True and LOCKDOWN["user"] == "65534:65534"
    assert template["job_configuration"]["container_create_kwargs"] == (
        "{{ container_create_kwargs }}"
    )


def test_a_malformed_env_setting_is_refused_before_anything_is_built() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "huntline.cli", "pool", "create", "docker", "--env", "NOVALUE"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-2:] == [
        "error: --env 'NOVALUE': expected NAME=VALUE",
        "  hint: e.g. --env A=b",
    ]
