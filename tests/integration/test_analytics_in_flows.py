"""Analytics inside real flows: the container cap (a Prefect global concurrency limit), log
streaming into the task log, displays as artifacts and in the manifest, and failures that keep
the inputs in storage."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from huntline.analytics.docker_runner import ContainerLimits, run_container
from huntline.errors import AnalyticsError
from huntline.prefect import container_cap as cap

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.server
def test_cap_lets_one_container_run_at_a_time(
    prefect_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    monkeypatch.setenv(cap.ENV_LIMIT, "1")
    spans: list[tuple[float, float]] = []

    def hold() -> None:
        with cap.container_slot():
            start = time.monotonic()
            time.sleep(0.8)
            spans.append((start, time.monotonic()))

    with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
        # A hunt run earlier in the session may have created the limit with the default slots:
        # start from none, so the limit is created here with $HUNTLINE_ANALYTICS_CONTAINERS.
        with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
            client.delete_global_concurrency_limit_by_name(cap.LIMIT_NAME)
        cap._ensured.clear()
        try:
            # each thread runs in a copy of this context (as Prefect's task threads do), so it
            # sees the temporary settings
            threads = [
                threading.Thread(target=contextvars.copy_context().run, args=(hold,))
                for _ in range(3)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert cap.ensure_limit() == 1  # created once with $HUNTLINE_ANALYTICS_CONTAINERS
        finally:
            with get_client(sync_client=True) as client:
                client.delete_global_concurrency_limit_by_name(cap.LIMIT_NAME)
            cap._ensured.clear()
    assert len(spans) == 3
    spans.sort()
    assert all(later[0] >= earlier[1] - 0.05 for earlier, later in itertools.pairwise(spans)), spans


def test_no_cap_without_a_prefect_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: None}), cap.container_slot():
        pass
    assert cap.default_limit() >= 1


@pytest.mark.docker
def test_container_output_streams_while_it_runs(
    build_test_image: Callable[..., str], shared_data: Path, tmp_path: Path
) -> None:
    """The hang image prints, then sleeps: the line arrives before the timeout kills it."""
    image = build_test_image("analytics_hang", REPO / "tests" / "files",
                             "huntline-test-analytics-hang:test")  # fmt: skip
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []
    procs = shared_data / "parquet" / "procs.parquet.gz"
    with pytest.raises(AnalyticsError):
        run_container(
            image, [procs], {}, tmp_path / "run", ContainerLimits(timeout=4),
            on_log=lambda line: arrivals.append((time.monotonic() - started, line)),
        )  # fmt: skip
    killed_after = time.monotonic() - started
    assert arrivals, "no line streamed"
    seen_at, line = arrivals[0]
    assert "thinking very hard" in line
    assert seen_at < killed_after - 2  # well before the kill at the end


@pytest.mark.server
@pytest.mark.docker
def test_hunt_streams_container_logs_into_the_task_log_under_the_cap(
    huntline: Callable[..., Any], prefect_server: Any, susp_scoring_image: str, tmp_path: Path
) -> None:
    import json

    import httpx

    result = huntline("run", "hunts/suspicious_processes.yaml", "--json",
                      "--storage", f"file://{tmp_path / 'store'}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    flow_run_id = json.loads(result.stdout)["flow_run_id"]
    logs = httpx.post(f"{prefect_server.api_url}/logs/filter", timeout=10,
                      json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}}).json()  # fmt: skip
    streamed = [log for log in logs if log["message"].startswith(f"{susp_scoring_image} | ")]
    assert any("susp_scoring: scored 64 rows" in log["message"] for log in streamed)
    assert all(log["task_run_id"] for log in streamed)  # in the apply task's log
    limit = httpx.get(f"{prefect_server.api_url}/v2/concurrency_limits/{cap.LIMIT_NAME}",
                      timeout=10).json()  # fmt: skip
    assert limit["limit"] >= 1 and limit["active_slots"] == 0


def _run_step(
    huntline: Callable[..., Any], repo_root: Path, tmp_path: Path, step: str, *options: str
) -> tuple[Any, Path]:
    """Run a book of one get (the sample processes) and ``step``; return the result and store."""
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    book = tmp_path / "book.yaml"
    book.write_text(
        f"""id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e13
title: analytics in a flow
window: {{start: 2024-06-03T00:00:00Z, stop: 2024-06-04T00:00:00Z}}
steps:
  - get: procs
    entity: process
    from: file://{bundle}
    where: "[process:pid > 0]"
{step}"""
    )
    store = tmp_path / "store"
    return huntline("run", str(book), *options, "--storage", f"file://{store}"), store


@pytest.mark.server
@pytest.mark.docker
def test_display_is_an_artifact_and_in_the_manifest(
    huntline: Callable[..., Any],
    repo_root: Path,
    prefect_server: Any,
    build_test_image: Callable[..., str],
    tmp_path: Path,
) -> None:
    import json

    import httpx

    build_test_image("plot", REPO / "analytics_images")
    step = "  - apply: docker://plot\n    on: procs\n    with: {XPARAM: name, top: 5}\n"
    result, _ = _run_step(huntline, repo_root, tmp_path, step, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    manifest = json.loads(Path(summary["manifest_uri"].removeprefix("file://")).read_text())
    display = manifest["steps"][1]["display_uri"]
    assert display.endswith("/01_apply/ret.html")
    assert "<svg" in Path(display.removeprefix("file://")).read_text()
    artifacts = httpx.post(f"{prefect_server.api_url}/artifacts/filter", timeout=10, json={
        "artifacts": {"flow_run_id": {"any_": [summary["flow_run_id"]]}}}).json()  # fmt: skip
    links = [a for a in artifacts if a["type"] == "markdown" and display in (a["data"] or "")]
    assert links, [a["key"] for a in artifacts]


@pytest.mark.server
@pytest.mark.docker
def test_unknown_parameter_fails_the_run_and_keeps_the_inputs(
    huntline: Callable[..., Any],
    repo_root: Path,
    prefect_server: Any,
    build_test_image: Callable[..., str],
    tmp_path: Path,
) -> None:
    build_test_image("sklearn-cluster", REPO / "analytics_images")
    step = "  - apply: docker://sklearn-cluster\n    on: procs\n    with: {n: 2, colums: pid}\n"
    result, store = _run_step(huntline, repo_root, tmp_path, step)
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    assert "has no parameter 'colums' (did you mean 'columns'?)" in message
    kept = sorted(p.relative_to(store).as_posix().split("/", 3)[3] for p in store.rglob("*.*"))
    assert "00_get/procs.parquet" in kept, "fetched data stays in storage"
    assert "manifest.json" in kept


@pytest.mark.server
def test_python_runner_in_a_flow(
    huntline: Callable[..., Any], repo_root: Path, prefect_server: Any, tmp_path: Path
) -> None:
    """No Docker: python://susp_scoring runs the image's analytics.py without Docker."""
    import json

    step = "  - apply: python://susp_scoring\n    on: procs\n    with: {extra_rules: activity}\n"
    result, _ = _run_step(huntline, repo_root, tmp_path, step, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    procs = summary["tables"]["procs"]
    assert {"x_suspicious_score", "x_suspicious_reasons"} <= set(procs["columns"])
    manifest = json.loads(Path(summary["manifest_uri"].removeprefix("file://")).read_text())
    assert manifest["steps"][1]["image"] == "python://susp_scoring"
    assert manifest["steps"][1]["image_id"].startswith("sha256:")
