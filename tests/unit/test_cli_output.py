"""What a user reads: user text with [brackets] reaches the terminal whole, warnings and the
outcome of a run without alerts are said plainly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from inline_books import procs_book

from huntline import cli
from huntline.alert import AlertRecord
from huntline.cli.book import _print_summary
from huntline.prefect.hunt_flow import RunSummary
from huntline.storage import TableRef

BOOK = procs_book(
    """
id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: Brackets [lab]
""",
    """\
  when: command_line icontains '[x]'
  title: "{command_line}"
""",
)


def test_compile_explain_keeps_patterns_conditions_and_titles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "b.yaml"
    book.write_text(BOOK)
    window = ["--start", "2024-06-01T00:00:00Z", "--stop", "2024-06-02T00:00:00Z"]
    assert cli.main(["compile", "--explain", str(book), *window]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Brackets [lab] (5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71)"
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    assert cells == [
        [
            "00_get",
            "-",
            "procs",
            "process FROM edr WHERE [process:pid > 0] START t'2024-06-01T00:00:00.000Z' "
            "STOP t'2024-06-02T00:00:00.000Z'",
        ],
        [
            "alert",
            "00_get",
            "alerts",
            "medium WHEN command_line icontains '[x]' ON procs: {command_line}",
        ],
    ]


def summary(**changes: object) -> RunSummary:
    table = TableRef(uri="file:///s/procs.parquet", rows=0, columns=["id"], sha256="0")
    fields: dict[str, object] = {
        "flow_run_id": "r",
        "hunt_id": "h",
        "title": "Brackets [lab]",
        "storage": "file:///s",
        "manifest_uri": "file:///s/manifest.json",
        "tables": {"procs": table},
        "displays": {},
        "alert_count": 0,
        "alerts": [],
        "alerts_uri": None,
        "alerts_jsonl_uri": None,
        "evidence_uri": None,
        "dry_run": False,
    }
    return RunSummary.model_validate({**fields, **changes})


def test_alert_titles_and_command_lines_keep_their_brackets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    alert = AlertRecord(
        alert_id="a",
        hunt_id="h",
        hunt_title="Brackets [lab]",
        title='cmd /c "echo [bold]x[/bold] [process:pid > 0]"',
        severity="high",
        tags=[],
        entity_id="process--[1]",
        entity_type="process",
        fields={},
        evidence_uri="file:///s/evidence.parquet",
        flow_run_id="r",
        raised_at=datetime(2024, 6, 3, tzinfo=UTC),
        window_start=datetime(2024, 6, 2, tzinfo=UTC),
        window_stop=datetime(2024, 6, 3, tzinfo=UTC),
    )
    _print_summary(summary(alert_count=1, alerts=[alert]), "http://ui/runs/flow-run/r")
    out = capsys.readouterr().out
    assert "Brackets [lab]: raised 1 alert(s)" in out
    assert '│ high     │ cmd /c "echo [bold]x[/bold] [process:pid > 0]" │ process--[1] │' in out


def test_a_book_without_alert_says_what_the_run_produced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    warning = (
        "00_get: procs is empty: no process from file:///b.json in the window "
        "2026-12-01T00:00:00Z – 2026-12-02T00:00:00Z; the bundle file:///b.json spans "
        "2019-11-16T12:55:00Z – 2019-11-16T13:31:00Z, outside the window: pass --start/--stop "
        "to cover it"
    )
    _print_summary(summary(has_alert=False, warnings=[warning]), "http://ui/runs/flow-run/r")
    assert capsys.readouterr().out.splitlines() == [
        "",
        "Brackets [lab]: no alert section, so no alerts; the run produced procs (0 rows)",
        f"warning: {warning}",
        "",
        "Artifacts",
        "  procs: 0 rows  file:///s/procs.parquet",
        "  manifest: file:///s/manifest.json",
        "",
        "Flow run: http://ui/runs/flow-run/r",
    ]


def test_error_messages_and_hints_keep_their_brackets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "b.yaml"
    book.write_text(BOOK.replace('"[process:pid > 0]"', "\"[file:name MATCHES '\\\\.dll']\""))
    assert cli.main(["validate", str(book)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"✗ {book}: 1 problem",
        f"  {book}:8 steps[0].where: invalid STIX pattern: Error found at line 1:19. "
        "mismatched input ''' expecting StringLiteral",
        "  hint: YAML read the double-quoted string \"[file:name MATCHES '\\\\.dll']\" as "
        "[file:name MATCHES '\\.dll']: inside double quotes YAML reads a backslash as an escape "
        "(\\\\ becomes \\), so each STIX \\\\ must be written \\\\\\\\; single quotes or a block "
        "scalar (where: >-) keep backslashes as written",
    ]


def test_an_unexpected_error_keeps_its_brackets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUNTLINE_STATE_DIR", str(tmp_path))

    def boom(args: object) -> int:
        raise RuntimeError("bad [process:pid > 0] [/]")

    monkeypatch.setattr(cli.book, "cmd_validate", boom)
    assert cli.main(["validate", "x.yaml"]) == 3
    assert capsys.readouterr().err.startswith("unexpected error: bad [process:pid > 0] [/]\n")
