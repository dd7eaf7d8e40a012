"""The sample hunt end to end, the way a user meets it: ``huntline run`` against a real Prefect
server, a real Docker engine and real object storage (a directory, and a moto S3 server)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import httpx
import pytest

pytestmark = [pytest.mark.server, pytest.mark.docker]

SAMPLE = "hunts/suspicious_processes.yaml"
EXPECTED_ALERTS = 6


def prefect_get(server, path: str) -> dict:  # type: ignore[no-untyped-def]
    return httpx.get(f"{server.api_url}{path}", timeout=10).raise_for_status().json()


def test_sample_hunt_on_local_storage(
    huntline, repo_root: Path, prefect_server, susp_scoring_image: str, tmp_path: Path, artifacts_of
) -> None:
    store = tmp_path / "store"
    result = huntline("run", SAMPLE, "--json", "--storage", f"file://{store}")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)

    assert summary["alert_count"] == EXPECTED_ALERTS
    titles = sorted(alert["title"] for alert in summary["alerts"])
    assert any("mimi.exe (score 3)" in title for title in titles)
    assert any("powershell.exe (score 4)" in title for title in titles)
    procs = summary["tables"]["procs"]
    assert procs["rows"] == 64 and "x_suspicious_score" in procs["columns"]

    run_dir = store / summary["hunt_id"]
    files = {
        p.relative_to(run_dir).as_posix().split("/", 2)[2]
        for p in run_dir.rglob("*")
        if p.is_file() and len(p.relative_to(run_dir).parts) > 2  # not the hunt's ledger/
    }
    assert (run_dir / "ledger" / "ledger.parquet").is_file()
    assert {
        "00_get/procs.parquet",
        "01_apply/procs.parquet",
        "01_apply/container.log",
        "alert/alerts.parquet",
        "alert/alerts.jsonl",
        "alert/evidence.parquet",
        "manifest.json",
    } <= files
    manifest = json.loads(Path(summary["manifest_uri"].removeprefix("file://")).read_text())
    assert manifest["status"] == "completed"
    assert manifest["windows"]["00_get"]["start"] == "2024-06-03T00:00:00+00:00"
    assert manifest["steps"][1]["image"] == "kestrel-analytics-susp_scoring"
    assert manifest["steps"][1]["image_id"].startswith("sha256:")

    flow_run = prefect_get(prefect_server, f"/flow_runs/{summary['flow_run_id']}")
    assert flow_run["state_type"] == "COMPLETED"
    keys = {artifact["key"] for artifact in artifacts_of(summary["flow_run_id"])}
    assert {"alerts", "manifest", "00-get-procs"} <= keys
    assert summary["flow_run_url"].endswith(f"/runs/flow-run/{summary['flow_run_id']}")


def test_sample_hunt_on_s3(
    huntline, repo_root: Path, prefect_server, susp_scoring_image: str, s3_bucket: str
) -> None:
    result = huntline("run", SAMPLE, "--json", "--storage", f"s3://{s3_bucket}/hunts")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["manifest_uri"].startswith(f"s3://{s3_bucket}/hunts/{summary['hunt_id']}/")
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(key.endswith("/manifest.json") for key in keys)
    assert any(key.endswith("/01_apply/procs.parquet") for key in keys)
    assert any(key.endswith("/alert/alerts.jsonl") for key in keys)


def test_dry_run_delivers_nothing(
    huntline, repo_root: Path, prefect_server, susp_scoring_image: str, tmp_path: Path
) -> None:
    result = huntline("run", SAMPLE, "--dry-run", "--storage", f"file://{tmp_path}")
    assert result.returncode == 0, result.stderr
    assert f"would raise {EXPECTED_ALERTS} alert(s)" in " ".join(result.stdout.split())
    assert "Flow run" in result.stdout


def write_book(path: Path, source: str, image: str = "docker://susp_scoring") -> Path:
    path.write_text(
        f"""id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11
title: failure path
window: {{start: 2024-06-03T00:00:00Z, stop: 2024-06-04T00:00:00Z}}
steps:
  - get: procs
    entity: process
    from: {source}
    where: "[process:pid > 0]"
  - apply: {image}
    on: procs
    timeout: 1m
"""
    )
    return path


def test_malformed_book_fails_with_its_place(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    book = tmp_path / "broken.yaml"
    book.write_text(write_book(tmp_path / "ok.yaml", "edr").read_text().replace("where:", "wehre:"))
    result = huntline("run", str(book))
    assert result.returncode == 1
    assert f"{book}:8 steps[0].wehre: unknown key (did you mean 'where'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_data_source_fails_clearly(
    huntline, repo_root: Path, prefect_server, unused_port: int, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{unused_port}/bundle.json"
    book = write_book(tmp_path / "unreachable.yaml", url)
    result = huntline("run", str(book))
    assert result.returncode == 1, result.stderr
    message = result.stderr.split("error:", 1)[1]
    assert url in message or f"127.0.0.1:{unused_port}" in message
    assert "flow run: http://" in message
    assert "Traceback" not in message


def test_a_failed_run_prints_its_error_as_json(
    huntline, prefect_server, unused_port: int, tmp_path: Path
) -> None:
    """Issue 23, item 5: ``--json`` printed 0 bytes when a run failed."""
    url = f"http://127.0.0.1:{unused_port}/bundle.json"
    result = huntline("run", str(write_book(tmp_path / "unreachable.yaml", url)), "--json")
    assert result.returncode == 1, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "DataSourceError"
    assert error["step"] == "00_get"
    assert f"127.0.0.1:{unused_port}" in error["message"] and error["hint"]
    assert error["flow_run_url"].startswith(prefect_server.ui_url)
    assert "/runs/flow-run/" in error["flow_run_url"]


def test_failing_container_fails_clearly_and_keeps_inputs(
    huntline, repo_root: Path, prefect_server, crashing_image: str, tmp_path: Path
) -> None:
    book = write_book(
        tmp_path / "crash.yaml",
        f"file://{repo_root / 'hunts/data/sample_endpoint_bundle.json'}",
        image=crashing_image,
    )
    store = tmp_path / "store"
    result = huntline("run", str(book), "--storage", f"file://{store}")
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split("error:", 1)[1].split())
    assert crashing_image in message and "exit" in message
    kept = sorted(p.relative_to(store).as_posix().split("/", 3)[3] for p in store.rglob("*.*"))
    assert "00_get/procs.parquet" in kept, "fetched data stays in storage"
    assert "01_apply/container.log" in kept, "the container's logs are kept"
    assert "manifest.json" in kept


def test_unreachable_object_storage_fails_clearly(
    huntline, unused_port: int, tmp_path: Path
) -> None:
    book = write_book(tmp_path / "s3.yaml", "file://hunts/data/sample_endpoint_bundle.json")
    result = huntline(
        "run",
        str(book),
        "--storage",
        "s3://hunts/prefix",
        env={
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{unused_port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "2",
        },
    )
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split("error:", 1)[1].split())
    assert message.startswith(
        "cannot write s3://hunts/prefix/0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11/"
    )
    assert "hint: check the bucket exists, the credentials, and AWS_ENDPOINT_URL" in message
    assert "Traceback" not in message
