"""Fixtures shared by every suite, and the CI rule that a skipped test is a failed test.

With ``CI=true`` a test that skips (no Docker engine, no server) fails instead: CI must prove
the real paths, not quietly pass around them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI, report a skipped test as failed, with the reason it skipped."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout: public STIX bundles and parquet samples."""
    for candidate in (REPO.parent / "shared" / "data", Path(os.environ.get("HUNTLINE_SHARED_DATA", ""))):
        if candidate.is_dir():
            return candidate
    pytest.skip("shared/data is not beside this checkout")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """A client of a running Docker engine."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as error:
        pytest.skip(f"no Docker engine: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: object) -> str:
    """The local base image the analytics Dockerfiles build on (no registry here)."""
    name = os.environ.get("HUNTLINE_BASE_IMAGE", "huntline-base:bookworm")
    try:
        docker_client.images.get(name)  # type: ignore[attr-defined]
    except Exception:
        pytest.skip(f"base image {name} is missing: run scripts/build_base_image.sh")
    return name


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real S3-compatible server (moto's server mode) on 127.0.0.1; yields its endpoint URL."""
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
        except OSError:
            return False
        return True

    try:
        wait_until(up, 60, "moto server")
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def s3_bucket(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the moto server, with the environment pointed at it."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"huntline-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server).create_bucket(Bucket=name)
    return name
