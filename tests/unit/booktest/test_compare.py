"""What ``huntline test`` says when a run differs from what a case expects."""

from __future__ import annotations

from datetime import UTC, datetime

from huntline.alert import AlertRecord
from huntline.booktest.cases import compare
from huntline.booktest.spec import Count, Expected


def alert(title: str, **fields: object) -> AlertRecord:
    return AlertRecord(
        alert_id="a",
        hunt_id="h",
        hunt_title="t",
        title=title,
        severity="high",
        tags=["attack.t1003.001"],
        entity_id="process--1",
        entity_type="process",
        fields=fields,
        evidence_uri="file:///e",
        flow_run_id="f",
        raised_at=datetime(2024, 6, 3, tzinfo=UTC),
        window_start=datetime(2024, 6, 3, tzinfo=UTC),
        window_stop=datetime(2024, 6, 4, tzinfo=UTC),
    )


RAISED = [
    alert("dump via comsvcs", command_line="rundll32 comsvcs.dll MiniDump"),
    alert("mimikatz", command_line="mimi.exe sekurlsa::logonpasswords"),
]


def test_what_holds_differs_in_nothing() -> None:
    expected = Expected(
        alerts=2, all=["severity == 'high'"], any=["command_line icontains 'MINIDUMP'"]
    )
    assert compare(expected, RAISED, None) == []
    assert compare(Expected(alerts=Count(min=1, max=3)), RAISED, None) == []


def test_a_wrong_count_reads_as_a_diff() -> None:
    assert compare(Expected(alerts=1), RAISED, None) == ["- alerts: 1", "+ alerts: 2"]
    assert compare(Expected(alerts=Count(min=3)), RAISED, None) == ["- alerts: 3..", "+ alerts: 2"]


def test_conditions_name_the_alerts_that_break_them() -> None:
    expected = Expected(all=["title contains 'comsvcs'"], any=["title contains 'procdump'"])
    assert compare(expected, RAISED, None) == [
        "- every alert meets: title contains 'comsvcs'",
        "+ 1 of 2 do not: mimikatz",
        "- some alert meets: title contains 'procdump'",
        "+ none of 2 does",
    ]


def test_a_condition_on_a_column_the_alerts_lack_says_so() -> None:
    assert compare(Expected(all=["user == 'bob'"]), RAISED, None) == [
        "- every alert meets: user == 'bob'",
        "+ 2 of 2 do not: every one: condition \"user == 'bob'\" reads column(s) user that the "
        "table does not have",
    ]


def test_failed_runs() -> None:
    assert compare(
        Expected(alerts=0), [], "gate 01_expect on procs failed: rows(min=1): 0 rows"
    ) == [
        "- the run completes",
        "+ it failed: gate 01_expect on procs failed: rows(min=1): 0 rows",
    ]
    assert (
        compare(
            Expected(error="rows(min=1)"), [], "gate 01_expect on procs failed: rows(min=1): 0 rows"
        )
        == []
    )
    assert compare(Expected(error="rows(min=1)"), RAISED, None) == [
        "- the run fails with 'rows(min=1)'",
        "+ it completed: 2 alert(s)",
    ]


def test_in_process_names_analytics_by_image_name() -> None:
    from huntline.booktest.cases import in_process

    assert in_process("docker://susp_scoring") == "python://susp_scoring"
    assert in_process("susp_scoring") == "python://susp_scoring"
    assert in_process("python://pkg.mod:fn") == "python://pkg.mod:fn"
    assert (
        in_process("registry.example/team/analytics:1.2") == "registry.example/team/analytics:1.2"
    )
