"""A connector that binds the window to part of the query only: stix-shifter 8.1.3's ``mysql``
translates ``[a OR b] START .. STOP ..`` into ``... WHERE a OR b AND (entry_time ...)``, so rows
matching ``a`` come back from any time. huntline drops them (``huntline.fetch.sources.timebox``),
counts them in the step's ``coerced`` and says so. Real connector, MariaDB from conftest.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from stix_shifter.stix_translation.stix_translation import StixTranslation

from huntline.compile import prepare_hunt
from huntline.fetch import Profile, StixShifterSource, Window, tally
from huntline.fetch.sources.pattern import with_window
from huntline.fetch.sources.retry import RetryPolicy
from huntline.steps.context import RunContext

WINDOW = Window(datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 3, 2, tzinfo=UTC))
EITHER = "[process:name = 'cmd.exe' OR process:name = 'powershell.exe']"
BOOK = """\
id: 44444444-4444-4444-8444-444444444444
title: either
window: {start: "2021-03-01T00:00:00Z", stop: "2021-03-02T00:00:00Z"}
steps:
  - get: procs
    entity: process
    from: lab
    where: "[process:name = 'cmd.exe' OR process:name = 'powershell.exe']"
"""

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def expected(rows: list[dict[str, Any]]) -> tuple[list[int], int]:
    """(pids of the matching rows inside the window, powershell.exe rows outside it: the part of
    the OR the connector leaves without the window)."""
    start, stop = (int(moment.timestamp() * 1000) for moment in (WINDOW.start, WINDOW.stop))
    names = {"cmd.exe", "powershell.exe"}
    matching = [row for row in rows if row["process_name"] in names]
    inside = [row["process_id"] for row in matching if start <= row["entry_time"] < stop]
    unbound = [
        row
        for row in matching
        if row["process_name"] == "powershell.exe" and not start <= row["entry_time"] < stop
    ]
    return sorted(inside), len(unbound)


@pytest.mark.server
def test_rows_outside_the_window_are_dropped_and_counted(
    mariadb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # the connector's translation: the window holds only for the last part of the OR
    (native,) = StixTranslation().translate(
        "mysql", "query", "{}", with_window(EITHER, WINDOW), {"table": mariadb.table}
    )["queries"]
    assert " OR process_name = 'cmd.exe' AND (entry_time >= 1614556800000 " in native
    pids, outside = expected(mariadb.rows)
    assert pids and outside == 6  # powershell.exe a day before and after: returned, not wanted

    profile = Profile("mysql-lab", "mysql", mariadb.connection(), mariadb.config())
    source = StixShifterSource(profile, retry=RetryPolicy(attempts=2, base_delay=0.01))

    async def collect() -> list[dict[str, Any]]:
        return [obs async for page in source.pages(EITHER, WINDOW) for obs in page]

    with tally.tallied() as counted, caplog.at_level(logging.WARNING):
        observed = asyncio.run(collect())
    fetched = sorted(
        sco["pid"] for obs in observed for sco in obs["objects"].values() if "pid" in sco
    )
    assert fetched == pids
    assert dict(counted) == {"window.mysql-lab": 6}
    assert [record.getMessage() for record in caplog.records] == [
        "mysql-lab: the mysql connector returned 6 observations outside the window "
        "2021-03-01T00:00:00.000Z to 2021-03-02T00:00:00.000Z (it did not apply the window to "
        "every part of the query); they were dropped"
    ]


@pytest.mark.server
def test_the_get_step_reports_the_dropped_rows(
    mariadb: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for part, value in (
        ("CONNECTOR", "mysql"),
        ("CONNECTION", json.dumps(mariadb.connection())),
        ("CONFIG", json.dumps(mariadb.config())),
    ):
        monkeypatch.setenv(f"STIXSHIFTER_LAB_{part}", value)
    book = tmp_path / "either.yaml"
    book.write_text(BOOK)
    hunt = prepare_hunt(book, WINDOW.stop, WINDOW.start, WINDOW.stop)
    context = RunContext(
        storage=(tmp_path / "store").as_uri(), hunt_id="h", run_date="d", flow_run_id="a"
    )
    (planned,) = hunt.plan.steps
    output = planned.action.run(context, planned.id, planned.step, {}, hunt.windows[planned.id])
    pids, _ = expected(mariadb.rows)
    assert output.tables["procs"].rows == len(pids)
    assert output.coerced == {"window.lab": 6}
    assert output.warnings == [
        "step 00_get (procs): window.lab: 6 observations from source 'lab' lay outside the "
        "window (the connector did not apply it to every part of the query) and were dropped"
    ]
