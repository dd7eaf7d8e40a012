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
