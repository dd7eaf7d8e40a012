"""The compiler orders steps by the variables they read and write; explain touches nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.book import load_book
from huntline.compile import compile_book, explain, prepare_hunt, resolve_windows
from huntline.errors import CompileError, WindowError
from huntline.window import Window

BOOKS = Path(__file__).parents[1] / "files" / "books"
NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def test_plan_dependencies_follow_variables() -> None:
    plan = compile_book(load_book(BOOKS / "valid.yaml"))
    assert [(p.id, p.kind, p.depends_on) for p in plan.steps] == [
        ("00_get", "get", ()),
        ("01_get", "get", ()),
        ("02_apply", "apply", ("00_get",)),
        ("03_apply", "apply", ("01_get",)),
    ]
    assert plan.alert_input == "02_apply"
    assert plan.final_writers == {"procs": "02_apply", "conns": "03_apply"}


def test_windows_come_from_run_then_step_then_book() -> None:
    plan = compile_book(load_book(BOOKS / "valid.yaml"))
    windows = resolve_windows(plan, NOW)
    assert windows["00_get"] == Window(datetime(2024, 6, 2, 12, 0, tzinfo=UTC), NOW)
    assert windows["01_get"] == Window(
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 2, tzinfo=UTC),
    )
    start, stop = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)
    assert set(resolve_windows(plan, NOW, start, stop).values()) == {Window(start, stop)}
    with pytest.raises(CompileError, match="give both --start and --stop, or neither"):
        resolve_windows(plan, NOW, start, None)
    with pytest.raises(
        WindowError,
        match=r"window start 2020-01-02T00:00:00\+00:00 is not before stop 2020-01-01T00:00:00",
    ):
        resolve_windows(plan, NOW, stop, start)


def test_prepare_hunt_is_load_compile_and_windows_in_one() -> None:
    hunt = prepare_hunt(BOOKS / "valid.yaml", NOW)
    assert hunt.book.title == load_book(BOOKS / "valid.yaml").title
    assert [step.id for step in hunt.plan.steps] == [
        step.id for step in compile_book(hunt.book).steps
    ]
    assert hunt.windows == resolve_windows(hunt.plan, NOW)


def test_explain_golden_table() -> None:
    plan = compile_book(load_book(BOOKS / "valid.yaml"))
    rows = explain(plan, resolve_windows(plan, NOW))
    assert rows == [
        {
            "task": "00_get",
            "after": "-",
            "writes": "procs",
            "does": "process FROM edr WHERE [process:name = 'powershell.exe'] "
            "START t'2024-06-02T12:00:00.000Z' STOP t'2024-06-03T12:00:00.000Z' LIMIT 5000",
        },
        {
            "task": "01_get",
            "after": "-",
            "writes": "conns",
            "does": "network-traffic FROM https://example.org/bundle.json, siem WHERE "
            "[network-traffic:dst_port = 443] "
            "START t'2024-01-01T00:00:00.000Z' STOP t'2024-01-02T00:00:00.000Z'",
        },
        {
            "task": "02_apply",
            "after": "00_get",
            "writes": "procs",
            "does": "image kestrel-analytics-susp_scoring ON procs WITH threshold=2, "
            "columns=a,b (timeout 10m, network off)",
        },
        {
            "task": "03_apply",
            "after": "01_get",
            "writes": "conns",
            "does": "image kestrel-analytics-sklearn-cluster ON conns (timeout 10m, network off)",
        },
        {
            "task": "alert",
            "after": "02_apply",
            "writes": "alerts",
            "does": "medium WHEN x_suspicious_score >= 2 ON procs: {name} scored "
            "{x_suspicious_score}",
        },
    ]
