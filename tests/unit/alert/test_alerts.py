"""Alerts: one per matching row (or group), with hunt metadata, key fields and evidence."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pandas as pd
import pytest
from inline_books import procs_book

from huntline.alert import alert_groups, alerts_frame, alerts_jsonl, build_alerts, matching_rows
from huntline.alert.alerts import AlertRecord, RunInfo
from huntline.alert.templates import render_title
from huntline.book import HuntBook, parse_book
from huntline.errors import AlertError

BOOK = procs_book(
    """
id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: Suspicious processes
tags: [attack.t1059.001]
""",
    """\
  when: x_suspicious_score >= 2
  severity: high
  title: "{name} scored {x_suspicious_score} under {parent_ref.name}"
  fields: [pid]
""",
)
RAISED = datetime(2024, 6, 3, tzinfo=UTC)


def raise_alerts(
    book: HuntBook, table: pd.DataFrame, evidence_uri: str = "e", run: str = "r"
) -> list[AlertRecord]:
    assert book.alert is not None
    info = RunInfo(
        flow_run_id=run,
        flow_run_url=None,
        window_start=RAISED,
        window_stop=RAISED,
        evidence_uri=evidence_uri,
        raised_at=RAISED,
    )
    return build_alerts(book, alert_groups(matching_rows(table, book.alert), book.alert), info)


@pytest.fixture
def procs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["process--a_0", "process--b_0", "process--c_0"],
            "type": ["process"] * 3,
            "name": ["cmd.exe", "notepad.exe", "powershell.exe"],
            "pid": [10, 11, 12],
            "parent_ref.name": ["WINWORD.EXE", "explorer.exe", None],
            "x_suspicious_score": [2, 0, 3],
        }
    )


def test_one_alert_per_matching_row(procs: pd.DataFrame) -> None:
    book = parse_book(BOOK)
    assert book.alert is not None
    alerts = raise_alerts(book, procs, "file:///e.parquet", "run-1")
    assert [a.title for a in alerts] == [
        "cmd.exe scored 2 under WINWORD.EXE",
        "powershell.exe scored 3 under -",
    ]
    first = alerts[0]
    assert first.hunt_id == "5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71"
    assert first.severity == "high" and first.tags == ["attack.t1059.001"]
    assert first.entity_id == "process--a_0" and first.entity_type == "process"
    assert first.fields == {
        "id": "process--a_0",
        "type": "process",
        "name": "cmd.exe",
        "x_suspicious_score": 2,
        "parent_ref.name": "WINWORD.EXE",
        "pid": 10,
    }
    assert first.evidence_uri == "file:///e.parquet"
    again = raise_alerts(book, procs, "x", "run-2")
    assert [a.alert_id for a in again] == [a.alert_id for a in alerts], "stable across runs"


def test_stored_forms(procs: pd.DataFrame) -> None:
    book = parse_book(BOOK)
    assert book.alert is not None
    alerts = raise_alerts(book, procs)
    frame = alerts_frame(alerts)
    assert len(frame) == 2 and frame["tags"].tolist() == ["attack.t1059.001"] * 2
    assert orjson.loads(frame["fields"][0])["pid"] == 10
    lines = alerts_jsonl(alerts).splitlines()
    assert [orjson.loads(line)["title"] for line in lines] == [a.title for a in alerts]


def test_no_rows_no_alerts() -> None:
    book = parse_book(BOOK)
    assert book.alert is not None
    assert matching_rows(pd.DataFrame(), book.alert).empty


def test_condition_on_missing_column_names_it(procs: pd.DataFrame) -> None:
    book = parse_book(BOOK.replace("x_suspicious_score >= 2", "x_score >= 2"))
    assert book.alert is not None
    with pytest.raises(AlertError) as caught:
        matching_rows(procs, book.alert)
    assert caught.value.message == (
        "alert.when on procs: condition 'x_score >= 2' reads column(s) x_score that the table "
        "does not have"
    )


def test_render_title_keeps_dotted_names() -> None:
    assert render_title("{a.b}/{c}", {"a.b": "x", "c": float("nan")}) == "x/-"
