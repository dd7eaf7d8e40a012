"""Alert rules: group_by, thresholds, severity and risk from columns, templates, run-time checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from inline_books import custom_type_book

from huntline.alert import alert_groups, build_alerts, matching_rows
from huntline.alert.alerts import KEY_COLUMN, RunInfo, evidence_frame
from huntline.book import parse_book
from huntline.errors import AlertError

HEAD = custom_type_book(
    """
id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: Beacons
""",
    """\
  when: score >= 1
  title: "{host} talked to {count} peers"
""",
    variable="conns",
    key="dst_port",
)
MOMENT = datetime(2024, 6, 3, tzinfo=UTC)
INFO = RunInfo(
    flow_run_id="r",
    flow_run_url="http://127.0.0.1:4200/runs/flow-run/r",
    window_start=MOMENT,
    window_stop=MOMENT,
    evidence_uri="file:///e.parquet",
    raised_at=MOMENT,
)


@pytest.fixture
def conns() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"network-traffic--{i}" for i in range(7)],
            "type": ["network-traffic"] * 7,
            "host": ["a", "a", "a", "a", "b", "b", "c"],
            "user": ["u1", "u1", "u2", "u2", "u1", "u1", "u1"],
            "dst_ref.value": [
                "1.1.1.1",
                "2.2.2.2",
                "3.3.3.3",
                "3.3.3.3",
                "9.9.9.9",
                "9.9.9.9",
                "x",
            ],
            "score": [1, 2, 3, 1, 4, 1, 0],
            "norm": [0.1, 0.2, 0.9, 0.1, 0.5, 0.4, 0.0],
            "x_score_reasons": ["a", "b", "b", None, "c", "c", None],
        }
    )


def book_with(extra: str):  # type: ignore[no-untyped-def]
    book = parse_book(HEAD + extra)
    assert book.alert is not None
    return book


def groups_of(book, table):  # type: ignore[no-untyped-def]
    return alert_groups(matching_rows(table, book.alert), book.alert)


def test_group_by_gives_one_alert_per_group_with_its_rows(conns: pd.DataFrame) -> None:
    book = book_with("  group_by: [host]\n")
    groups = groups_of(book, conns)
    assert [(g.values, g.count) for g in groups] == [({"host": "a"}, 4), ({"host": "b"}, 2)]
    alerts = build_alerts(book, groups, INFO)
    assert [a.title for a in alerts] == ["a talked to 4 peers", "b talked to 2 peers"]
    assert alerts[0].group == {"host": "a"} and alerts[0].count == 4
    assert alerts[0].reasons == {"x_score_reasons": ["a", "b"]}
    assert alerts[0].flow_run_url == INFO.flow_run_url and alerts[0].book_version
    evidence = evidence_frame(groups, alerts)
    assert evidence.groupby(KEY_COLUMN).size().to_dict() == {
        alerts[0].alert_id: 4,
        alerts[1].alert_id: 2,
    }


def test_threshold_count_and_distinct(conns: pd.DataFrame) -> None:
    by_count = groups_of(book_with("  group_by: [host]\n  threshold: {count: 3}\n"), conns)
    assert [g.values for g in by_count] == [{"host": "a"}]
    distinct = "  group_by: host\n  threshold: {distinct: dst_ref.value, count: 3}\n"
    by_distinct = groups_of(book_with(distinct), conns)
    assert [(g.values, g.distinct) for g in by_distinct] == [({"host": "a"}, 3)]
    whole = groups_of(book_with("  threshold: {count: 6}\n"), conns)
    assert [g.count for g in whole] == [6]


def test_severity_and_risk_from_columns(conns: pd.DataFrame) -> None:
    book = book_with(
        "  group_by: [host, user]\n"
        "  severity: {column: score, map: {'3': high, '4': critical}, default: low}\n"
        "  risk_score: {column: norm, scale: 100}\n"
    )
    groups = groups_of(book, conns)
    assert [(g.values, g.severity, g.risk_score) for g in groups] == [
        ({"host": "a", "user": "u1"}, "low", 20),
        ({"host": "a", "user": "u2"}, "high", 90),
        ({"host": "b", "user": "u1"}, "critical", 50),
    ]
    fixed = groups_of(book_with("  risk_score: 73\n  severity: high\n"), conns)
    assert {(g.severity, g.risk_score) for g in fixed} == {("high", 73)}


def test_a_rule_on_an_unknown_column_lists_the_columns(conns: pd.DataFrame) -> None:
    book = book_with("  group_by: [hostname]\n  threshold: {distinct: dst, count: 2}\n")
    with pytest.raises(AlertError) as caught:
        groups_of(book, conns)
    assert caught.value.message == (
        "alert rules on conns read column(s) hostname, dst that conns does not have after the "
        "last step"
    )
    assert caught.value.hint == (
        "columns available: id, type, host, user, dst_ref.value, score, norm, x_score_reasons"
    )


def test_dedup_key_follows_group_by_or_dedup_columns(conns: pd.DataFrame) -> None:
    per_host = build_alerts(
        book := book_with("  group_by: [host, user]\n"), groups_of(book, conns), INFO
    )
    assert len({a.alert_id for a in per_host}) == 3
    dedup = book_with("  group_by: [host, user]\n  dedup: [host]\n")
    keys = [a.alert_id for a in build_alerts(dedup, groups_of(dedup, conns), INFO)]
    assert keys[0] == keys[1] != keys[2]


def test_summary_template(conns: pd.DataFrame) -> None:
    book = book_with("  group_by: host\n  summary: '{host}: {count} rows, first user {user}'\n")
    alerts = build_alerts(book, groups_of(book, conns), INFO)
    assert alerts[0].summary == "a: 4 rows, first user u1"


def test_one_dedup_key_is_one_alert_within_a_run(conns: pd.DataFrame) -> None:
    """Issue 23: rows of one run with one key were two alerts (and two notifications, and an
    alert_count of 2); the ledger only collapsed them across runs."""
    from huntline.alert.rules import one_per_key

    book = book_with(
        "  dedup: [host]\n  severity: {column: score, map: {'4': critical}, default: low}\n"
    )
    groups = groups_of(book, conns)
    assert len(groups) == 6  # every row with score >= 1 is its own group
    folded = one_per_key(groups, str(book.id), book.alert)
    alerts = build_alerts(book, folded, INFO)
    assert [(a.title, a.count, a.severity) for a in alerts] == [
        ("a talked to 4 peers", 4, "low"),
        ("b talked to 2 peers", 2, "critical"),
    ]
    assert len({a.alert_id for a in alerts}) == 2
    assert list(folded[1].rows["id"]) == ["network-traffic--4", "network-traffic--5"]
    # without dedup, the key is the entity id: every row stays its own alert
    plain = book_with("")
    assert len(one_per_key(groups_of(plain, conns), str(plain.id), plain.alert)) == 6
