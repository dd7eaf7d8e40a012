"""Issue 26, item 4: ``huntline pool create docker`` builds the hunt-runner image on the local
base image and creates a Prefect Docker work pool; Prefect's Docker worker runs a deployed
book's flow run in a locked-down container that reaches the session's server and a moto S3
store over the host network; its alerts reach a webhook once and the ledger in S3.

S3 rather than a mounted file store: the container runs as user 65534 with a read-only root,
so a mounted store would have to be writable by that user at the same path on every host,
while a pool's runs normally share object storage (as several workers do). The credentials
come in as a read-only mounted file, not as settings stored in the pool.

Building the image costs minutes once (the dependency layer, see the figures in
``deployments/README.md``); later builds reuse it and rebuild only huntline's code. The second
test reuses that image: a pool made with ``--analytics`` runs a book whose ``docker://``
apply step starts its analytics container on the host's engine, from inside the run.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from receivers import webhook_receiver

from huntline.alert.ledger_store import ledger_store
from huntline.prefect.docker_pool import RUNNER_IMAGE
from huntline.storage import open_store

pytestmark = pytest.mark.server
HUNT_ID = "8e2d4f6a-1b3c-4d5e-9f70-a1b2c3d4e5f6"
POOL = "huntline-docker-test"
ANALYTICS = "huntline-docker-analytics-test"
BOOK_HEAD = f"""id: {HUNT_ID}
title: Shells, hunted in a container
window:
  start: 2024-06-03T00:00:00Z
  stop: 2024-06-04T00:00:00Z
steps:
  - get: procs
    entity: process
    from: file://sample_endpoint_bundle.json
    where: "[process:pid > 0]"
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A project folder the container's user (65534) can read: pytest's tmp dirs are 0700."""
    import shutil

    path = Path(tempfile.mkdtemp(prefix="huntline-docker-pool-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


Hunt = Callable[..., list[Any]]


@pytest.fixture
def hunt_in_pool(
    huntline: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    prefect_server: Any,
    base_image: str,
    s3_bucket: str,
    moto_server: str,
    repo_root: Path,
    shared_dir: Path,
    tmp_path: Path,
) -> Iterator[Hunt]:
    """Build the image, create the pool (with ``pool_args``), deploy the book made by
    ``book(webhook_url)`` and run it through Prefect's Docker worker; the ledger's entries."""
    from huntline.prefect.worker import start_worker, stop_worker

    project = shared_dir / "project"
    (project / "hunts").mkdir(parents=True)
    bundle = project / "sample_endpoint_bundle.json"
    bundle.write_bytes((repo_root / "hunts/data/sample_endpoint_bundle.json").read_bytes())
    credentials = shared_dir / "aws-credentials"
    credentials.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = x\n")
    credentials.chmod(0o644)
    storage = f"s3://{s3_bucket}/hunts"

    pools: list[str] = []

    def hunt(book: Callable[[str], str], *pool_args: str, pool: str = POOL) -> list[Any]:
        """A pool and project of their own per call: a deleted pool's deployments keep
        pointing at its gone work queue."""
        pools.append(pool)
        with webhook_receiver() as hook:
            (project / "hunts/in_docker.yaml").write_text(book(hook.url))
            began = time.monotonic()
            created = huntline(
                "pool",
                "create",
                "docker",
                "--name",
                pool,
                "--base-image",
                base_image,
                "--ca-bundle",
                "/etc/ssl/certs/ca-certificates.crt",
                "--project",
                str(project),
                "--env",
                f"HUNTLINE_STORAGE={storage}",
                "--env",
                f"AWS_ENDPOINT_URL={moto_server}",
                "--env",
                "AWS_DEFAULT_REGION=us-east-1",
                "--env",
                "AWS_SHARED_CREDENTIALS_FILE=/run/huntline/aws-credentials",
                "--volume",
                f"{credentials}:/run/huntline/aws-credentials:ro",
                *pool_args,
            )
            print(f"image built and pool created in {time.monotonic() - began:.0f} s")
            assert created.returncode == 0, created.stderr
            assert f"Docker work pool {pool} created (image {RUNNER_IMAGE})" in created.stdout
            deployed = huntline(
                "deploy",
                "--hunts",
                str(project / "hunts"),
                "--project",
                pool,
                "--pool",
                pool,
            )
            assert deployed.returncode == 0, deployed.stderr

            home = tmp_path / "worker"
            start_worker(home, prefect_server.api_url, pool, project, kind="docker")
            try:
                deployment = client.read_deployment_by_name(f"hunt/{pool}-in-docker")
                run = client.create_flow_run_from_deployment(deployment.id)
                deadline = time.monotonic() + 300
                state = client.read_flow_run(run.id).state
                while time.monotonic() < deadline and not (state and state.is_final()):
                    time.sleep(2)
                    state = client.read_flow_run(run.id).state
            finally:
                stop_worker(home)
            log = (home / "worker.log").read_text()
            assert state is not None and state.is_completed(), (state, log[-4000:])
            assert "Creating Docker container" in log, log[-2000:]
            assert "Pulling image" not in log  # the local image, never a registry

            ledger, _ = ledger_store(open_store(storage), HUNT_ID).read()
            entries = list(ledger.entries())
            assert entries and all(entry.status == "delivered" for entry in entries), entries
            assert sorted(hook.keys()) == sorted(entry.key for entry in entries)
            return entries

    yield hunt
    for pool in pools:
        client.delete_work_pool(pool)


def test_a_hunt_runs_in_the_docker_pool(hunt_in_pool: Hunt, client: SyncPrefectClient) -> None:
    def book(url: str) -> str:
        return BOOK_HEAD + (
            "alert:\n  on: procs\n  when: name in ['cmd.exe', 'powershell.exe']\n"
            f'  severity: high\n  title: "{{name}} (pid {{pid}})"\n  notify: ["{url}"]\n'
        )

    hunt_in_pool(book)
    pool = client.read_work_pool(POOL)
    variables = pool.base_job_template["variables"]["properties"]
    assert variables["container_create_kwargs"]["default"]["read_only"] is True
    assert variables["container_create_kwargs"]["default"]["user"] == "65534:65534"
    assert "group_add" not in variables["container_create_kwargs"]["default"]
    assert not any("docker.sock" in volume for volume in variables["volumes"]["default"])


def test_docker_analytics_run_as_sibling_containers(
    hunt_in_pool: Hunt,
    client: SyncPrefectClient,
    susp_scoring_image: str,
    docker_client: Any,
    shared_dir: Path,
) -> None:
    """The analytics container starts on the host's engine from inside the run's container,
    still locked down (no network, user 65534), and its scores reach the alerts."""
    seen: list[dict[str, Any]] = []
    events = docker_client.events(
        decode=True, filters={"event": "create", "label": "huntline.analytics=1"}
    )
    watcher = threading.Thread(target=lambda: seen.extend(events), daemon=True)
    watcher.start()

    def book(url: str) -> str:
        return BOOK_HEAD + (
            "  - apply: docker://susp_scoring\n    on: procs\n    timeout: 5m\n"
            "alert:\n  on: procs\n  when: x_suspicious_score >= 2\n  severity: high\n"
            '  title: "{name} scored {x_suspicious_score}"\n'
            f'  notify: ["{url}"]\n'
        )

    scratch = shared_dir / "scratch"
    try:
        entries = hunt_in_pool(book, "--analytics", "--scratch", str(scratch), pool=ANALYTICS)
    finally:
        events.close()
    assert entries  # the scored processes alerted: the analytics' output came back
    owners = [event["Actor"]["Attributes"].get("huntline.owner", "") for event in seen]
    run_root = f"{scratch.resolve()}/huntline-65534/run-"
    assert owners and all(run_root in owner for owner in owners), owners  # made by the run
    pool = client.read_work_pool(ANALYTICS)
    kwargs = pool.base_job_template["variables"]["properties"]["container_create_kwargs"]
    socket_gid = str(Path("/var/run/docker.sock").stat().st_gid)
    assert kwargs["default"]["group_add"] == [socket_gid]
    assert oct(scratch.stat().st_mode & 0o7777) == "0o1777"
