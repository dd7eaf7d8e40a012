"""Sigma correlation rules: event_count and value_count over one rule become a book's
group_by, threshold and window; the rest are refused with their reason, file and what."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huntline.book import load_book
from huntline.cli import main
from huntline.steps.book_checks import load_hunt

RULES = Path(__file__).parents[2] / "files" / "sigma_correlation"


def test_event_and_value_count_convert_to_group_by_threshold_and_window(tmp_path: Path) -> None:
    into = tmp_path / "hunts"
    assert main(["sigma", "convert", str(RULES), "--into", str(into)]) == 0
    assert sorted(p.name for p in into.iterdir()) == ["event_count.yaml", "value_count.yaml"]
    events = load_book(into / "event_count.yaml")
    assert str(events.id) == "1a1a1a1a-1111-4222-8333-444444444444"
    assert (events.title, events.level, events.window.last) == (
        "whoami three times by one user",
        "high",
        "1h",
    )
    assert events.alert is not None
    assert events.alert.when == "icontains(field('command_line'), 'whoami')"
    assert events.alert.group_by == ["creator_user_ref.user_id"]
    assert events.alert.threshold is not None
    assert (events.alert.threshold.count, events.alert.threshold.distinct) == (3, None)
    values = load_book(into / "value_count.yaml")
    assert values.window.last == "30m"
    assert values.alert is not None and values.alert.threshold is not None
    assert values.alert.group_by == ["creator_user_ref.user_id"]
    # gt: 1 is "at least 2 distinct command lines"
    assert (values.alert.threshold.count, values.alert.threshold.distinct) == (2, "command_line")


def test_coverage_groups_refused_correlations_by_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sigma", "coverage", str(RULES), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rules"], report["converted"]) == (5, 2)
    assert {reason: body["rules"] for reason, body in report["failures"].items()} == {
        "correlation condition not a minimum": [
            f"{RULES}/fewer_than.yml: correlation rule (event_count): condition lt: huntline's "
            "threshold is a minimum count, so only gte and gt convert"
        ],
        "multi-rule correlation": [
            f"{RULES}/multi_rule.yml: correlation rule (event_count) over 2 rules (whoami_run, "
            "net_group_run): a book hunts one rule's events; only a correlation over one rule "
            "converts"
        ],
        "temporal correlation": [
            f"{RULES}/temporal.yml: correlation rule (temporal): huntline alerts on the rows of "
            "one rule, with no sequence or aggregate of values; only event_count and "
            "value_count convert"
        ],
    }


def test_a_group_by_field_without_a_column_is_refused(tmp_path: Path) -> None:
    from huntline.sigma.convert import convert_paths

    rule = tmp_path / "by_image.yml"
    rule.write_text((RULES / "event_count.yml").read_text().replace("[User]", "[Image]"))
    [result] = convert_paths([rule])
    assert result.error is not None
    assert result.error.context["reason"] == "unmapped field"
    assert result.error.message == (
        f"{rule}: correlation rule (event_count): field Image: no column to count or group by "
        "in log source process_creation"
    )


def test_a_book_pointing_at_a_correlation_gets_its_threshold(tmp_path: Path) -> None:
    (tmp_path / "event_count.yml").write_text((RULES / "event_count.yml").read_text())
    (tmp_path / "book.yaml").write_text("sigma: event_count.yml\nfrom: edr\n")
    book = load_hunt(tmp_path / "book.yaml")
    assert book.alert is not None and book.alert.threshold is not None
    assert (book.alert.group_by, book.alert.threshold.count) == (["creator_user_ref.user_id"], 3)
