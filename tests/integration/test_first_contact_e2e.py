"""The first hour with real data, end to end through ``huntline run`` on a real Prefect server:
an empty window says so in the command's own output, with the window and the time the bundle
covers (file:// and http://), and a book without an alert says what the run produced."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server]

SAMPLE_BUNDLE = "hunts/data/sample_endpoint_bundle.json"


def span_of(bundle: Path) -> str:
    """The bundle's time range, computed independently of huntline."""
    objects = json.loads(bundle.read_text())["objects"]
    observed = [o for o in objects if o["type"] == "observed-data"]
    first = min(datetime.fromisoformat(o["first_observed"]) for o in observed)
    last = max(datetime.fromisoformat(o["last_observed"]) for o in observed)
    shape = "%Y-%m-%dT%H:%M:%SZ"
    return f"{first.strftime(shape)} – {last.strftime(shape)}"


def book_without_alert(path: Path, source: str) -> Path:
    path.write_text(
        "id: 7c1e0a52-8d0e-4c55-9a57-3f6f54d1b0aa\ntitle: All processes\nsteps:\n"
        f"  - get: procs\n    entity: process\n    from: {source}\n"
    )
    return path


def test_an_empty_window_is_explained_in_the_output(
    huntline, repo_root: Path, prefect_server, bundle_server: str, tmp_path: Path
) -> None:
    span = span_of(repo_root / SAMPLE_BUNDLE)
    local = book_without_alert(tmp_path / "local.yaml", f"file://{SAMPLE_BUNDLE}")
    result = huntline("run", str(local), "--storage", f"file://{tmp_path / 'store'}")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "All processes: no alert section, so no alerts; the run produced procs (0 rows)" in out
    assert "warning: 00_get: procs is empty: no process from file://" in out
    assert (
        f"the bundle file://{SAMPLE_BUNDLE} spans {span}, outside the window: pass "
        "--start/--stop to cover it"
    ) in out

    url = f"{bundle_server}/sample_endpoint_bundle.json"
    remote = book_without_alert(tmp_path / "remote.yaml", url)
    result = huntline("run", str(remote), "--json", "--storage", f"file://{tmp_path / 'store'}")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["has_alert"] is False and summary["tables"]["procs"]["rows"] == 0
    (warning,) = summary["warnings"]
    assert warning.startswith(f"00_get: procs is empty: no process from {url} in the window ")
    assert warning.endswith(
        f"; the bundle {url} spans {span}, outside the window: pass --start/--stop to cover it"
    )

    listed = huntline("runs", "list", "--storage", f"file://{tmp_path / 'store'}", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [run["run_id"] for run in runs] == [summary["flow_run_id"], runs[1]["run_id"]]
    assert runs[0]["flow_run_url"].endswith(f"/runs/flow-run/{summary['flow_run_id']}")
    assert runs[0]["alert_count"] is None and runs[0]["warnings"] == [warning]
