"""Run one analytics container under the Kestrel contract, locked down.

Why these defaults: an analytics image is third-party code that reads hunt data. It gets no
network, a read-only root filesystem (a small tmpfs at ``/tmp``), no capabilities, no privilege
escalation, memory/CPU/pid limits, a timeout, and a non-root user. ``/data`` (a per-run work
directory) is its only writable mount.

The non-root user is ``65534:65534`` (nobody). The host cannot chown the work directory to that
uid without privileges, so the runner makes ``output/`` and ``display/`` world-writable instead.
That is safe because the work directory is private to one run and nothing else is mounted. An
image that truly needs root (e.g. one that writes outside /data and /tmp) can be run with
``ContainerLimits(user=None)``, which keeps the image's own USER.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pyarrow.parquet as pq
import requests
from docker.errors import DockerException, ImageNotFound

from huntline.analytics import contract
from huntline.analytics.harvest import harvest
from huntline.analytics.labels import ImageLabels, check_parameters, file_mounts
from huntline.analytics.logstream import follow
from huntline.analytics.reaper import owner_labels
from huntline.analytics.slots import LineSink, container_slot, task_log_sink
from huntline.errors import AnalyticsError

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 40
TMPFS_OPTIONS = "rw,size=64m,mode=1777"
#: What Docker keeps of a container's output, whatever the daemon's default: one json-file of
#: at most 8 MB, so a container printing without end fills neither the host's disk nor, when
#: huntline reads the logs back and stores them as container.log, its memory.
LOG_CONFIG = {"type": "json-file", "config": {"max-size": "8m", "max-file": "1"}}


@dataclass(frozen=True)
class ContainerLimits:
    """Resource and isolation settings for one analytics container."""

    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 256
    timeout: float = 600.0
    network: bool = False
    user: str | None = "65534:65534"
    #: Extra container labels, e.g. the flow run (see :mod:`.reaper`).
    labels: tuple[tuple[str, str], ...] = ()


@dataclass
class ContainerResult:
    """What a successful run left behind: output files by variable index, and the display.

    The paths are host-side copies taken out of the work directory by :mod:`.harvest` (links
    and special files refused), never the files the analytics wrote in place.
    """

    outputs: dict[int, Path]
    display: Path | None
    logs: str
    image: str
    image_id: str
    duration: float
    warnings: list[str] = field(default_factory=list)


def prepare_workdir(workdir: Path, input_files: Sequence[Path]) -> None:
    """Lay out ``input/``, ``output/`` and ``display/`` and write the inputs as gzip parquet.

    Inputs are re-encoded rather than copied: callers hand over parquet in any codec, and the
    contract promises gzip to the container. Gzip level 1: at pyarrow's default level, writing
    100k processes took 1.7 s against 0.14 s, for files about 10 % larger.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    for name in (contract.INPUT_DIR, contract.OUTPUT_DIR, contract.DISPLAY_DIR):
        (workdir / name).mkdir(exist_ok=True)
    for index, source in enumerate(input_files):
        target = workdir / contract.INPUT_DIR / contract.data_file(index)
        try:
            pq.write_table(pq.read_table(source), target, compression="gzip", compression_level=1)
        except (OSError, ValueError) as error:
            raise AnalyticsError(
                f"input {index} ({source}) is not a readable parquet file: {error}",
                file=str(source),
            ) from error
        target.chmod(0o644)
    # The container's user is not the host's: let it write its outputs (see module docstring).
    for name in (contract.OUTPUT_DIR, contract.DISPLAY_DIR):
        (workdir / name).chmod(0o777)
    (workdir / contract.INPUT_DIR).chmod(0o755)


def container_options(
    image: str,
    workdir: Path,
    params: Mapping[str, object],
    limits: ContainerLimits,
    files: Mapping[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``containers.create``: the lock-down, in one reviewable place.

    ``files`` are extra read-only single-file mounts (see :func:`labels.file_mounts`).
    """
    environment = {"HOME": "/tmp", **contract.env_for(params)}
    options: dict[str, Any] = {
        "image": image,
        "environment": environment,
        "volumes": {
            str(workdir.resolve()): {"bind": str(contract.DATA_MOUNT), "mode": "rw"},
            **(files or {}),
        },
        "network_mode": "bridge" if limits.network else "none",
        "read_only": True,
        "tmpfs": {"/tmp": TMPFS_OPTIONS},
        "mem_limit": limits.memory,
        "memswap_limit": limits.memory,  # no swap beyond the memory limit
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "labels": {**owner_labels(), **dict(limits.labels)},
        "log_config": LOG_CONFIG,
        "detach": True,
    }
    if limits.user:
        options["user"] = limits.user
    return options


def run_container(
    image: str,
    input_files: Sequence[Path],
    params: Mapping[str, object],
    workdir: Path,
    limits: ContainerLimits = ContainerLimits(),  # frozen, so a shared default is safe
    *,
    client: docker.DockerClient | None = None,
    on_log: LineSink | None = None,
) -> ContainerResult:
    """Run ``image`` on ``input_files`` and collect its outputs under ``workdir``.

    Args:
        image: An image name or an ``apply`` reference (``docker://NAME``, ``NAME``).
        input_files: Parquet files (any codec), the i-th becoming ``/data/input/{i}.parquet.gz``.
        params: The step's ``with:`` mapping, passed as environment variables.
        workdir: A fresh directory private to this run; mounted at ``/data``.
        limits: Isolation and resources.
        client: A Docker client to reuse; by default one is made from the environment.
        on_log: Called with each line of the container's output as it arrives; by default
            the lines go to the Prefect task log (see :mod:`logstream`).

    Raises:
        AnalyticsError: the image is missing, a parameter is unknown to it or names a missing
            file, the container failed, timed out, or broke the output contract. The
            container is removed in every case.
    """
    image = contract.image_for(image)
    own_client = client is None
    docker_client = client or _client()
    try:
        image_id, labels = _inspect(docker_client, image)
        check_parameters(image, labels.parameters, params)
        params, files = file_mounts(image, labels.mounts, params)
        prepare_workdir(workdir, input_files)
        started = time.monotonic()
        options = container_options(image, workdir, params, limits, files)
        with container_slot():  # the cap on containers across flows (see slots.py)
            waited = time.monotonic() - started
            logs = _run(docker_client, options, limits, on_log or task_log_sink(image))
        duration = time.monotonic() - started - waited
        # the container is gone: nothing can change the files while they are taken out
        outputs, display, notes = harvest(workdir, len(input_files), image, logs=logs)
        return ContainerResult(outputs, display, logs, image, image_id, duration, notes)
    finally:
        if own_client:
            docker_client.close()


def _client() -> docker.DockerClient:
    try:
        return docker.from_env()
    except DockerException as error:
        raise AnalyticsError(
            f"cannot reach a Docker engine: {error}",
            hint="start dockerd (or set DOCKER_HOST), or use the python runner",
        ) from error


def _inspect(client: docker.DockerClient, image: str) -> tuple[str, ImageLabels]:
    try:
        found = client.images.get(image)
        return str(found.id), ImageLabels.parse(found.labels)
    except ImageNotFound as error:
        from huntline.analytics.known_images import KnownImages

        name = contract.analytics_name(image)
        # A misspelt name must not be told to build itself: "did you mean" the known ones.
        problem = KnownImages.scan(client=client).problem(image) if name else None
        if name is None:
            hint = f"pull or build {image} on this Docker host"
        elif problem is None:
            hint = f"build it with `huntline images build {name}`"
        else:
            hint = f"{problem}; `huntline images list` shows this host's images"
        raise AnalyticsError(f"image {image} not found", image=image, hint=hint) from error


def _run(
    client: docker.DockerClient, options: dict[str, Any], limits: ContainerLimits, sink: LineSink
) -> str:
    """Start, stream, wait, and always remove the container; return its logs on exit code 0."""
    image = options["image"]
    container = client.containers.create(**options)
    try:
        container.start()
        streaming = follow(container, sink)
        try:
            status = container.wait(timeout=limits.timeout)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as error:
            container.kill()
            logs = _logs(container)
            raise AnalyticsError(
                f"analytics {image} timed out after {limits.timeout:g} s and was killed\n"
                f"{_tail(logs)}",
                image=image,
                timeout=limits.timeout,
                logs=logs,
                hint="raise the step's timeout if the data is large, or fix the analytics",
            ) from error
        streaming.join(timeout=5)  # the stream ends with the container: the last lines
        logs = _logs(container)
        exit_code = int(status.get("StatusCode", -1))
        if exit_code != contract.EXIT_OK:
            container.reload()
            oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
            raise _exit_error(image, exit_code, logs, oom, limits)
        return logs
    finally:
        try:
            container.remove(force=True)
        except DockerException as error:  # never mask the real error with a cleanup one
            log.warning("could not remove container %s: %s", container.id, error)


def _exit_error(
    image: str, exit_code: int, logs: str, oom: bool, limits: ContainerLimits
) -> AnalyticsError:
    if oom:
        return AnalyticsError(
            f"analytics {image} ran out of memory (limit {limits.memory}) and was killed\n"
            f"{_tail(logs)}",
            image=image,
            exit_code=exit_code,
            logs=logs,
            hint="raise the step's memory limit, or give the analytics less data",
        )
    return AnalyticsError(
        f"analytics {image} failed with exit code {exit_code}\n{_tail(logs)}",
        image=image,
        exit_code=exit_code,
        logs=logs,
    )


def _logs(container: Any) -> str:
    try:
        raw = container.logs(stdout=True, stderr=True)
    except DockerException as error:
        return f"(logs unavailable: {error})"
    return bytes(raw).decode("utf-8", errors="replace")


def _tail(logs: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = logs.rstrip().splitlines()[-lines:]
    if not kept:
        return "  (no container logs)"
    return "  container logs (last lines):\n" + "\n".join(f"    {line}" for line in kept)
