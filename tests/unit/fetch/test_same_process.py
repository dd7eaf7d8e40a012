"""One process creation, one row, one alert (issue 23 item 3): Sysmon event 1 and Security
event 4688 of the same process are merged when fetched."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from huntline.compile import prepare_hunt
from huntline.fetch import EntitySpool
from huntline.fetch.tables.same_process import event_hosts, merge_same_processes, same_moment
from huntline.steps import finish
from huntline.steps.context import RunContext
from huntline.storage import open_store
from huntline.tables import read_table

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2020, 10, 19, 4, 28, 31, 89000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("apart", "same"),
    [
        (timedelta(0), True),
        (timedelta(seconds=2.2), True),  # 4688 logged after Sysmon's creation time
        (timedelta(seconds=6), False),
        (timedelta(hours=8), True),  # Security in local time, Sysmon in UTC (the OTRF data)
        (timedelta(hours=5, minutes=30, milliseconds=400), True),  # India
        (timedelta(hours=8, seconds=6), False),
        (timedelta(minutes=7), False),
        (timedelta(hours=15), False),
    ],
)
def test_same_moment(apart: timedelta, same: bool) -> None:
    assert same_moment(T0, T0 + apart) is same
    assert same_moment(T0 + apart, T0) is same


def sysmon_and_security(host_b: str = "WORKSTATION5", later: timedelta = timedelta(hours=8)):  # type: ignore[no-untyped-def]
    """The two records of one esentutl.exe, shaped as woodchipper converts them."""

    def obs(n: int, when: datetime, objects: dict[str, Any]) -> dict[str, Any]:
        stamp = when.isoformat().replace("+00:00", "Z")
        return {"type": "observed-data", "id": f"observed-data--{n}", "first_observed": stamp,
                "last_observed": stamp, "number_observed": 1, "objects": objects}  # fmt: skip

    command = "esentutl.exe  /y /vss C:\\windows/system32/config/SAM /d C:\\ProgramData\\SAM"
    binary = {"type": "file", "name": "esentutl.exe", "parent_directory_ref": "9"}
    folder = {"type": "directory", "path": "C:\\Windows\\System32"}
    sysmon = obs(1, T0, {
        "0": {"type": "x-oca-event", "code": 1, "host_ref": "1", "process_ref": "2"},
        "1": {"type": "x-oca-asset", "hostname": "WORKSTATION5"},
        "2": {"type": "process", "pid": 5136, "x_unique_id": "{39e4a257-15ef}", "name":
              "esentutl.exe", "command_line": command, "created": T0.isoformat(),
              "binary_ref": "8", "creator_user_ref": "3"},
        "3": {"type": "user-account", "user_id": "WORKSTATION5\\wardog"},
        "8": {**binary, "hashes": {"MD5": "A9DF466F89B546452C955C6DFC91BF0F"}}, "9": folder,
    })  # fmt: skip
    security = obs(2, T0 + later, {
        "0": {"type": "x-oca-event", "code": 4688, "host_ref": "1", "process_ref": "2"},
        "1": {"type": "x-oca-asset", "hostname": host_b},
        "2": {"type": "process", "pid": "0x1410", "name": "esentutl.exe", "command_line": command,
              "binary_ref": "8", "creator_user_ref": "3"},
        "3": {"type": "user-account", "user_id": "wardog"},
        "8": binary, "9": folder,
    })  # fmt: skip
    return [sysmon, security]


def merged_rows(observed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with EntitySpool() as spool:
        spool.add(observed)
        slices, count = merge_same_processes(
            lambda: spool.batches("process"), lambda ids: event_hosts(spool, ids)
        )
        rows = [row for table in slices for row in table.to_pylist()]
    assert count["merged"] == 2 - len(rows)
    return rows


def test_sysmon_and_security_records_of_one_process_are_one_row() -> None:
    [row] = merged_rows(sysmon_and_security())
    assert row["pid"] == 5136
    assert row["x_unique_id"] == "{39e4a257-15ef}"  # Sysmon's GUID, hashes and user ...
    assert row["binary_ref.hashes.MD5"] == "A9DF466F89B546452C955C6DFC91BF0F"
    assert row["creator_user_ref.user_id"] == "WORKSTATION5\\wardog"
    assert row["number_observed"] == 2  # ... and both sightings
    assert (row["first_observed"], row["last_observed"]) == (
        "2020-10-19T04:28:31.089000Z",
        "2020-10-19T12:28:31.089000Z",
    )
    assert row["x_merged_ids"].startswith('["process--')


def test_a_record_without_a_pid_merges_on_the_rest() -> None:
    """OTRF empire_shell_reg_dump_sam: the Sysmon record of `reg.exe save HKLM\\sam` has no
    pid, and Security logged its 4688 2.2 s after Sysmon's creation time."""
    observed = sysmon_and_security(later=timedelta(seconds=2.2))
    del observed[0]["objects"]["2"]["pid"]
    [row] = merged_rows(observed)
    assert (row["pid"], row["x_unique_id"]) == (5136, "{39e4a257-15ef}")
    del observed[1]["objects"]["2"]["pid"]
    assert len(merged_rows(observed)) == 2, "two records without a pid stay apart"


@pytest.mark.parametrize(
    ("host", "later"),
    [
        ("WORKSTATION9", timedelta(hours=8)),  # another host
        ("WORKSTATION5", timedelta(minutes=3)),  # the pid reused later by the same command
    ],
)
def test_other_hosts_and_later_reuses_of_a_pid_stay_apart(host: str, later: timedelta) -> None:
    assert len(merged_rows(sysmon_and_security(host, later))) == 2


def test_the_esentutl_sam_copy_is_one_row_and_one_alert(shared_data: Path, tmp_path: Path) -> None:
    """OTRF cmd_sam_copy_esentutl: the one esentutl copy of the SAM hive was 2 process rows and
    would alert twice; fetched, it is one row, and credential_dumping raises one alert."""
    bundle = tmp_path / "esentutl.json"
    recording = shared_data / "otrf" / "cmd_sam_copy_esentutl.stix.json.gz"
    with gzip.open(recording, "rb") as packed, bundle.open("wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    start, stop = datetime(2020, 10, 19, tzinfo=UTC), datetime(2020, 10, 20, tzinfo=UTC)
    hunt = prepare_hunt(REPO / "hunts" / "credential_dumping.yaml", stop, start, stop)
    context = RunContext(
        storage=(tmp_path / "store").as_uri(),
        hunt_id="h",
        run_date="2020-10-20",
        flow_run_id="r",
        dry_run=True,
        source=bundle.as_uri(),
    )
    [planned] = hunt.plan.steps
    fetched = planned.action.run(context, planned.id, planned.step, {}, hunt.windows[planned.id])
    table = read_table(open_store(context.storage), fetched.tables["procs"])
    assert list(table["name"]) == ["esentutl.exe"]
    assert fetched.coerced == {"process.same process": 1}
    alerts = finish.alert_step(
        context, hunt.book, fetched.tables["procs"], stop, hunt.windows[planned.id]
    )
    assert [alert.title for alert in alerts.alerts] == [
        "Credential dumping on esentutl.exe  /y /vss C:\\windows/system32/config/SAM /d "
        "C:\\ProgramData\\SAM"
    ]
