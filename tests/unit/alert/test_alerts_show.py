"""Issue 23, item 11: ``alerts show`` printed the evidence row as one line about 2,000
characters wide; each row is now a vertical record, empty columns counted, not printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from huntline import cli
from huntline.book import parse_book
from huntline.steps.context import RunContext
from huntline.steps.finish import alert_step
from huntline.storage import open_store
from huntline.tables import write_table
from huntline.window import Window

MOMENT = datetime(2023, 7, 18, 10, tzinfo=UTC)
# A Sysmon process row after firepit's conversion: a long command line and many empty columns.
COMMAND = (
    "C:\\Windows\\System32\\rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 "
    "C:\\Users\\pgustavo\\AppData\\Local\\Temp\\lsass.dmp full " + "x" * 1500
)
ROW = {
    "id": "process--6c0a1f4e-0c1d-5b0e-9a7e-2f6d1c2b3a4f",
    "type": "process",
    "name": "rundll32.exe",
    "pid": 8812,
    "command_line": COMMAND,
    "x_unique_id": "{3f2b7c1e-5d4a-64b6-5f0b-000000000b00}",
    "parent_ref.name": "powershell.exe",
    "binary_ref.parent_directory_ref.path": "C:\\Windows\\System32",
    **{f"x_sysmon_field_{n}": None for n in range(40)},
    "first_observed": "2023-07-18T09:59:58.120Z",
}


@pytest.fixture
def store_root(tmp_path: Path) -> str:
    book = parse_book(
        """id: 8a4e3b2c-1d0f-4e5a-9b8c-7d6e5f4a3b2c
title: comsvcs MiniDump
steps:
  - get: procs
    entity: process
    from: edr
    where: "[process:command_line LIKE '%comsvcs%']"
alert:
  on: procs
  when: command_line icontains 'minidump'
  title: "MiniDump by {name} (pid {pid})"
"""
    )
    assert book.alert is not None
    root = f"file://{tmp_path / 'store'}"
    context = RunContext(
        storage=root, hunt_id=str(book.id), run_date="2023-07-18", flow_run_id="run-1"
    )
    procs = write_table(
        open_store(root), context.key("00_get", "procs.parquet"), pd.DataFrame([ROW])
    )
    alert_step(context, book, procs, MOMENT, Window(MOMENT - timedelta(hours=1), MOMENT))
    return root


def test_the_evidence_row_is_a_vertical_record(
    store_root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["alerts", "list", "--json", "--storage", store_root]) == 0
    key = capsys.readouterr().out.split('"key": "', 1)[1][:12]
    assert cli.main(["alerts", "show", key, "--storage", store_root]) == 0
    shown = capsys.readouterr().out
    evidence = shown.split("\nEvidence (1 rows)\n", 1)[1].splitlines()
    pad = len("binary_ref.parent_directory_ref.path")
    assert evidence == [
        "-- row 1 of 1 --",
        f"  {'id'.ljust(pad)}  {ROW['id']}",
        f"  {'type'.ljust(pad)}  process",
        f"  {'name'.ljust(pad)}  rundll32.exe",
        f"  {'pid'.ljust(pad)}  8812",
        f"  {'command_line'.ljust(pad)}  {COMMAND}",
        f"  {'x_unique_id'.ljust(pad)}  {ROW['x_unique_id']}",
        f"  {'parent_ref.name'.ljust(pad)}  powershell.exe",
        "  binary_ref.parent_directory_ref.path  C:\\Windows\\System32",
        f"  {'first_observed'.ljust(pad)}  2023-07-18T09:59:58.120Z",
        "  (40 empty column(s) not shown)",
    ]
