"""``huntline alerts list|show`` on a ledger and evidence in S3 (a moto server), as a user runs
them: from storage alone, no Prefect server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from inline_books import custom_type_book

from huntline.alert import alert_groups, build_alerts, matching_rows
from huntline.alert.alerts import RunInfo, evidence_frame
from huntline.alert.ledger_store import ledger_store
from huntline.alert.section import run_section
from huntline.book import parse_book
from huntline.storage import open_store
from huntline.tables import write_table

pytestmark = [pytest.mark.server]
MOMENT = datetime(2024, 6, 3, tzinfo=UTC)


def test_alerts_list_and_show_read_an_s3_ledger(
    s3_bucket: str, repo_root: Path, tmp_path: Path
) -> None:
    head = "id: 3e9d1c2b-4a5f-4b6c-8d7e-9f0a1b2c3d4e\ntitle: S3 ledger\n"
    alert = f"""\
  when: score > 1
  group_by: host
  title: "{{count}} bad processes on {{host}}"
  notify: ["jsonl://{tmp_path}/sent.jsonl"]
"""
    book = parse_book(custom_type_book(head, alert))
    assert book.alert is not None
    root = f"s3://{s3_bucket}/hunts"
    store = open_store(root)
    table = pd.DataFrame(
        {"id": ["p1", "p2", "p3"], "host": ["a", "a", "b"], "score": [2, 3, 0], "name": "x"}
    )
    groups = alert_groups(matching_rows(table, book.alert), book.alert)
    evidence_key = f"{book.id}/2024-06-03/run-1/alert/evidence.parquet"
    info = RunInfo(
        flow_run_id="run-1",
        flow_run_url=None,
        window_start=MOMENT,
        window_stop=MOMENT,
        evidence_uri=store.uri(evidence_key),
        raised_at=MOMENT,
    )
    records = build_alerts(book, groups, info)
    write_table(store, evidence_key, evidence_frame(groups, records))
    run_section(
        ledger_store(store, str(book.id)),
        book.alert,
        records,
        now=MOMENT,
        run_id="run-1",
        hunt_title=book.title,
        dry_run=False,
    )

    def huntline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "huntline.cli", "alerts", *args, "--storage", root],
            cwd=repo_root,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = huntline("list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["title"], row["status"], row["delivered_to"]) == (
        "2 bad processes on a",
        "delivered",
        [f"jsonl://{tmp_path}/sent.jsonl"],
    )
    shown = huntline("show", row["key"][:8], "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert [r["id"] for r in detail["evidence"]] == ["p1", "p2"]
    assert detail["alert"]["group"] == {"host": "a"} and detail["alert"]["count"] == 2
