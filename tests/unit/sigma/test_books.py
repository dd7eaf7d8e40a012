"""``huntline sigma convert`` and ``coverage``: one ordinary, valid book per rule, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_convert import GOOD

from huntline.book import load_book
from huntline.cli import main


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yml").write_text(
        GOOD.replace("title: good", "title: good\nlevel: high\ntags: [attack.t1059.001]")
    )
    (folder / "unmapped.yml").write_text(GOOD.replace("CommandLine|contains", "GrantedAccess"))
    return folder


def test_convert_writes_a_valid_book_per_rule_and_is_idempotent(
    rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = tmp_path / "hunts" / "sigma"
    argv = ["sigma", "convert", str(rules), "--into", str(into), "--schedule", "*/30 * * * *"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"1 books in {into} (1 created, 0 updated, 0 unchanged); 1 rules not converted\n"
    )
    assert captured.err == (
        f"  ✗ {rules}/unmapped.yml: unmapped field 'GrantedAccess': log source "
        "process_creation has no column for it\n"
    )
    book = load_book(into / "good.yaml")
    assert str(book.id) == "11111111-2222-4333-8444-555555555555"
    assert (book.level, book.tags) == ("high", ["attack.t1059.001"])
    assert book.schedule is not None and book.schedule.cron == "*/30 * * * *"
    assert book.alert is not None
    assert book.alert.when == "icontains(field('command_line'), 'x')"
    assert "Detection Rule License 1.1" in (into / "good.yaml").read_text()
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"1 books in {into} (0 created, 0 updated, 1 unch")


def test_coverage_groups_failures_by_reason(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sigma", "coverage", str(rules), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rules"] == 2
    assert report["converted"] == 1
    assert report["log_sources"] == {"windows/process_creation/-": {"rules": 2, "converted": 1}}
    assert list(report["failures"]) == ["unmapped field"]
