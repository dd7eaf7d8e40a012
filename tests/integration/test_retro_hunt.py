"""A retro-hunt run on the session's Prefect server: indicators in, chunked queries, alerts
that name the indicator and its feed; and a scheduled run that records its coverage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from huntline.schedule.coverage import load_coverage
from huntline.storage import open_store
from huntline.tables import read_table

pytestmark = pytest.mark.server
BOOK = "hunts/intel_retro_processes.yaml"


def test_retro_hunt_alerts_name_the_indicator_and_feed(
    prefect_server: Any, repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huntline.prefect.hunt_flow import hunt

    monkeypatch.chdir(repo_root)
    monkeypatch.setattr("huntline.intel.template.CHUNK", 1)  # two values: two queries
    storage = str(tmp_path / "store")
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        summary = hunt(
            book=BOOK,
            storage=storage,
            indicators={"file_name": ["mimi.exe", "nc"], "ipv4": ["192.0.2.1"]},
            intel_feed="sample",
        )
    assert sorted(alert.title for alert in summary.alerts) == [
        "Process mimi.exe matches file_name mimi.exe from intel feed sample",
        "Process nc matches file_name nc from intel feed sample",
    ]
    procs = read_table(open_store(storage), summary.tables["procs"])
    assert set(procs["x_intel_indicator"]) == {"file_name mimi.exe", "file_name nc"}
    # A retro-hunt searched for a few indicators only: it is no coverage of the hunt.
    assert load_coverage(open_store(storage), summary.hunt_id).intervals == []


def test_a_run_with_a_given_window_records_coverage(
    prefect_server: Any, repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huntline.prefect.hunt_flow import hunt

    monkeypatch.chdir(repo_root)
    storage = str(tmp_path / "store")
    start, stop = datetime(2024, 6, 3, tzinfo=UTC), datetime(2024, 6, 4, tzinfo=UTC)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        summary = hunt(
            book=BOOK,
            storage=storage,
            start=start,
            stop=stop,
            source="file://hunts/data/sample_endpoint_bundle.json",
        )
    assert summary.alert_count == 0  # no indicators: the templates match nothing
    assert load_coverage(open_store(storage), summary.hunt_id).intervals == [(start, stop)]


SCHEDULED = """\
id: 7d3e1b9a-4c2f-4a8e-b6d1-0e9f2a7c5b14
title: every 30 minutes
window: {last: 30m}
schedule: {cron: "*/30 * * * *", overlap: 5m, max_catchup: 24h}
steps:
  - get: procs
    entity: process
    from: BUNDLE
    where: "[process:pid > 0]"
"""


def test_a_scheduled_run_after_an_outage_catches_up_the_gap(
    prefect_server: Any, huntline: Any, repo_root: Path, tmp_path: Path
) -> None:
    """Runs stopped two hours ago (the worker was down): the next scheduled run covers the gap,
    and huntline coverage then shows none."""
    from datetime import timedelta

    from huntline.prefect.hunt_flow import hunt
    from huntline.schedule.coverage import record_coverage
    from huntline.window import Window

    bundle = (repo_root / "hunts/data/sample_endpoint_bundle.json").as_uri()
    book = tmp_path / "scheduled.yaml"
    book.write_text(SCHEDULED.replace("BUNDLE", bundle))
    storage = str(tmp_path / "store")
    store = open_store(storage)
    now = datetime.now(UTC)
    hunt_id = "7d3e1b9a-4c2f-4a8e-b6d1-0e9f2a7c5b14"
    record_coverage(store, hunt_id, Window(now - timedelta(hours=3), now - timedelta(hours=2)))
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        summary = hunt(book=str(book), storage=storage, scheduled=True)
    intervals = load_coverage(store, hunt_id).intervals
    assert len(intervals) == 1 and intervals[0][0] == now - timedelta(hours=3)
    assert intervals[0][1] >= now
    assert not [w for w in summary.warnings if "uncovered" in w]  # within max_catchup
    shown = huntline("coverage", str(book), "--storage", storage, "--json")
    assert json.loads(shown.stdout)["gaps"] == []
