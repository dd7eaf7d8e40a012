"""A Prefect Docker work pool for hunts (issue 26, item 4): the hunt-runner image and the pool.

Why a Docker pool beside ``huntline worker``: each run gets its own container (its own memory
limit, filesystem and user, nothing left behind), and the hosts that run hunts need Docker and
nothing of huntline's Python. It costs a container and a fresh interpreter per run (as
Prefect's process worker), so it is the choice for isolation, not for hundreds of small hunts.

:func:`build_runner_image` builds ``deployments/docker/Dockerfile`` on the local base image
(no registry is needed): the dependencies of ``pyproject.toml`` pinned by ``constraints.txt``
in one cached layer, huntline's code in the last. :func:`docker_pool_template` is
prefect-docker's own base job template with huntline's defaults:

- the image is used as built here, never pulled (``image_pull_policy: Never``);
- the repository is mounted read-only at the path it was deployed from, so a deployment's
  pull step (``set_working_directory``) and its book paths work unchanged, and a book edit
  needs no image rebuild;
- the container runs locked down, as analytics containers do (DESIGN.md): a read-only root
  filesystem with a tmpfs ``/tmp`` (its HOME), user 65534, every capability dropped,
  ``no-new-privileges``, a memory limit and a process limit; removed when it ends;
- ``network_mode: host``: the run must reach the Prefect API, the store and its data sources,
  and huntline's local server listens on 127.0.0.1 only. On a pool whose API and store have
  routable addresses, set the pool's ``network_mode`` to a bridge network instead;
- no Docker socket by default: a book with a ``docker://`` apply step cannot start its
  analytics container from inside. ``--analytics`` gives the runs the host's engine, a
  security trade-off (:mod:`huntline.prefect.pool_analytics`).
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RUNNER_IMAGE = "huntline-runner:local"
DEFAULT_POOL = "huntline-docker"
DEFAULT_BASE_IMAGE = "huntline-base:bookworm"
#: The files of the repository that make the image (beside the Dockerfile).
DOCKERFILE = Path("deployments/docker")
#: The container's limits: one hunt's fetch and tables, and a bound on runaway processes.
MEMORY_LIMIT = "2g"
PIDS_LIMIT = 512
LOCKDOWN: dict[str, Any] = {
    "read_only": True,
    "tmpfs": {"/tmp": "rw,nosuid,nodev,size=512m"},
    "user": "65534:65534",
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "pids_limit": PIDS_LIMIT,
}


def requirements(pyproject: Path) -> str:
    """The runtime dependencies of ``pyproject.toml``, one a line, for the cached layer."""
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle)["project"]
    return "".join(f"{line}\n" for line in project["dependencies"])


def stage_runner_context(repo: Path, context: Path) -> Path:
    """Lay out the image's build folder: the Dockerfile, requirements, constraints and the
    package source (without caches or a host-built extension, which pip rebuilds or skips)."""
    shutil.copytree(repo / DOCKERFILE, context)
    (context / "requirements.txt").write_text(requirements(repo / "pyproject.toml"))
    shutil.copyfile(repo / "constraints.txt", context / "constraints.txt")
    source = context / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", ".mypy_cache")
    shutil.copytree(repo / "flows", source / "flows", ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copyfile(repo / name, source / name)
    return context


def build_runner_image(
    repo: Path,
    *,
    base_image: str = DEFAULT_BASE_IMAGE,
    ca_bundle: Path | None = None,
    tag: str = RUNNER_IMAGE,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Build the hunt-runner image from the repository at ``repo``; returns its tag.

    Raises:
        AnalyticsError: the base image or CA bundle is missing, or a build step failed (the
            image builder's errors, with their hints).
    """
    from huntline.analytics.images import build_image
    from huntline.scratch import process_dir

    with tempfile.TemporaryDirectory(prefix="runner-", dir=process_dir()) as tmp:
        context = stage_runner_context(repo, Path(tmp) / "runner")
        return build_image(
            context, base_image=base_image, ca_bundle=ca_bundle, tag=tag, progress=progress
        )


def docker_pool_template(
    image: str,
    project: Path,
    env: Mapping[str, str] | None = None,
    volumes: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> dict[str, Any]:
    """prefect-docker's base job template with huntline's defaults (see the module's doc).

    ``env`` is stored in the pool on the server: give it settings (``HUNTLINE_STORAGE``,
    ``AWS_ENDPOINT_URL``), never secrets; mount credentials read-only with ``volumes``.
    ``groups`` are host gids added to the container's user (the Docker socket's).
    """
    from prefect_docker.worker import DockerWorker

    template: dict[str, Any] = DockerWorker.get_default_base_job_template()
    defaults = {
        "image": image,
        "image_pull_policy": "Never",
        "network_mode": "host",
        "auto_remove": True,
        "stream_output": True,
        "mem_limit": MEMORY_LIMIT,
        "volumes": [f"{project.resolve()}:{project.resolve()}:ro", *volumes],
        "env": dict(env or {}),
        "container_create_kwargs": {**LOCKDOWN, **({"group_add": list(groups)} if groups else {})},
    }
    properties = template["variables"]["properties"]
    for name, value in defaults.items():
        properties[name]["default"] = value
    return template


def ensure_docker_pool(client: Any, name: str, template: dict[str, Any]) -> bool:
    """Create the pool, or set its template if it exists; returns whether it was created."""
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_work_pool(name)
    except ObjectNotFound:
        client.create_work_pool(
            WorkPoolCreate(name=name, type="docker", base_job_template=template)
        )
        return True
    client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
    return False
