"""``huntline backfill`` and ``huntline coverage`` on the session's Prefect server: windows run
as flow runs, a backfill killed half way resumes without redoing finished windows, and the
coverage then shows no gap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from huntline.schedule.coverage import load_coverage
from huntline.storage import open_store

pytestmark = pytest.mark.server
HUNT_ID = "6a0f3c2e-1d4b-4e8a-9c7f-2b5d8e1a4c90"


def test_backfill_resumes_after_a_kill(
    huntline: Any, repo_root: Path, prefect_server: Any, tmp_path: Path
) -> None:
    bundle = (repo_root / "hunts/data/sample_endpoint_bundle.json").as_uri()
    book = tmp_path / "hourly.yaml"
    book.write_text(
        f"id: {HUNT_ID}\ntitle: hourly\nwindow: {{last: 2h}}\nsteps:\n  - get: procs\n"
        f'    entity: process\n    from: {bundle}\n    where: "[process:pid > 0]"\n'
    )
    storage = str(tmp_path / "store")
    arguments = [
        "backfill",
        str(book),
        "--from",
        "2024-06-03T08:00:00Z",
        "--to",
        "2024-06-03T16:00:00Z",
        "--concurrency",
        "1",
        "--storage",
        storage,
    ]
    first = subprocess.Popen(
        [sys.executable, "-m", "huntline.cli", *arguments],
        cwd=repo_root,
        env={**os.environ, "PREFECT_API_URL": prefect_server.api_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = open_store(storage)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not load_coverage(store, HUNT_ID).intervals:
        time.sleep(0.2)
    first.kill()
    first.wait(30)
    done_before = load_coverage(store, HUNT_ID).intervals
    assert done_before, "no window finished before the kill"

    resumed = huntline(*arguments)
    assert resumed.returncode == 0, resumed.stderr
    assert "already covered" in resumed.stdout
    assert " 0 failed" in resumed.stdout
    coverage = huntline("coverage", str(book), "--storage", storage, "--json")
    document = json.loads(coverage.stdout)
    assert document["covered"] == [["2024-06-03T08:00:00+00:00", "2024-06-03T16:00:00+00:00"]]

    future = huntline(
        "backfill", str(book), "--from", "2024-06-03T08:00:00Z", "--to", "2999-01-01T00:00:00Z"
    )
    assert future.returncode == 1
    assert "the backfill range ends in the future" in future.stderr
