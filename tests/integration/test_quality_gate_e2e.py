"""Quality gates through ``huntline run``: the sample hunt's gate passes and shows its result;
a gate that cannot hold fails the run clearly, keeping what was fetched and what the hunt would
have raised (stored under gated/, marked gated, never delivered)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.docker]


def test_the_sample_gate_passes_and_is_recorded(
    huntline, repo_root: Path, prefect_server, susp_scoring_image: str, tmp_path: Path, artifacts_of
) -> None:
    result = huntline(
        "run", "hunts/suspicious_processes.yaml", "--json", "--storage", f"file://{tmp_path}"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["alert_count"] == 6
    manifest = json.loads(Path(summary["manifest_uri"].removeprefix("file://")).read_text())
    (gate,) = [step["gate"] for step in manifest["steps"] if step.get("gate")]
    assert gate["variable"] == "procs" and gate["on_fail"] == "fail"
    assert [(c["check"], c["passed"]) for c in gate["checks"]] == [
        ("rows(min=1)", True),
        ("not_null(name, mostly=0.25)", True),
        ("column_exists(command_line)", True),
        ("between(x_suspicious_score, min=0, max=100)", True),
        ("fresh(1d)", True),
    ]
    artifacts = {a["key"]: a for a in artifacts_of(summary["flow_run_id"])}
    markdown = artifacts["02-expect-gate-procs"]
    assert markdown["type"] == "markdown"
    assert markdown["data"].startswith("### Quality gate `02_expect` on `procs`: passed")


def test_a_gate_that_cannot_hold_stops_the_run_and_keeps_its_would_be_alerts(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    book = tmp_path / "gated.yaml"
    book.write_text(
        """id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e42
title: a gate that cannot hold
window: {start: 2024-06-03T00:00:00Z, stop: 2024-06-04T00:00:00Z}
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
  - expect: procs
    checks:
      - rows: {min: 1}
      - in_set: {column: creator_user_ref.user_id, values: [SYSTEM]}
alert:
  on: procs
  when: name icontains 'mimi'
  title: "{name}"
"""
    )
    store = tmp_path / "store"
    result = huntline("run", str(book), "--storage", f"file://{store}")
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split("error:", 1)[1].split())
    assert message.startswith(
        "gate 01_expect on procs failed: in_set(creator_user_ref.user_id, values=[SYSTEM]): "
    )
    assert "non-null values not in the set, e.g. " in message
    assert (
        "; 1 alert(s) the hunt would have raised are stored, marked gated and not delivered, in "
        + next(store.rglob("gated/alerts.jsonl")).as_uri()
        + " "
    ) in message
    assert "Traceback" not in message
    kept = sorted(p.relative_to(store).as_posix().split("/", 3)[3] for p in store.rglob("*.*"))
    assert "00_get/procs.parquet" in kept, "the fetched table stays in storage"
    assert {"01_expect/gate.json", "01_expect/gate.md", "manifest.json"} <= set(kept)
    assert not [key for key in kept if key.startswith("alert/")], "no alert was raised"
    assert {"gated/alerts.parquet", "gated/alerts.jsonl", "gated/evidence.parquet"} <= set(kept)
    [gated] = [json.loads(line) for line in next(store.rglob("gated/alerts.jsonl")).open()]
    assert (gated["title"], gated["gated"]) == ("mimi.exe", True)
    manifest = json.loads(next(store.rglob("manifest.json")).read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"].startswith("gate 01_expect on procs failed: in_set(")
    assert (manifest["alerts"]["count"], manifest["alerts"]["gated"]) == (1, True)
    assert not (store / "0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e42" / "ledger").exists()
