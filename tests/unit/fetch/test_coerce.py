"""No row is lost silently (issue 22 item 4): values that do not fit their STIX type are kept,
junk is skipped and counted, and the get step says so in its output and the manifest."""

from __future__ import annotations

import copy
import json
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from huntline.fetch import flatten_arrow, tally
from huntline.fetch.sources.bundle import read_observed_data, stream_observed_data
from huntline.fetch.stix.coerce import as_integer, coerced

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "hunts" / "data" / "sample_endpoint_bundle.json"


def sample_with_pids(pid: Any) -> list[dict[str, Any]]:
    observed = copy.deepcopy(read_observed_data(SAMPLE))
    for obs in observed:
        for sco in obs["objects"].values():
            if sco.get("type") == "process" and "pid" in sco:
                sco["pid"] = pid(sco["pid"]) if callable(pid) else pid
    return observed


def test_a_text_pid_keeps_every_process_and_its_raw_value() -> None:
    """`"pid": "abc"` made a child and its parent one entity (same `abc_<host>_<time>` id):
    32 of 64 rows vanished, the children. Now each keeps its row, pid null, the raw text
    in x_pid_raw, and the 64 changed values are counted."""
    before = flatten_arrow(read_observed_data(SAMPLE), "process")
    with tally.tallied() as counts:
        after = flatten_arrow(sample_with_pids("abc"), "process")
    assert after.num_rows == before.num_rows == 64
    assert sorted(after["name"].to_pylist()) == sorted(before["name"].to_pylist())
    assert set(after["pid"].to_pylist()) == {None}
    assert set(after["x_pid_raw"].to_pylist()) == {"abc"}
    assert counts == {"process.pid": 64}


def test_hex_and_decimal_text_pids_become_the_same_number() -> None:
    """Security 4688 writes `NewProcessId: 0x1410`, Sysmon `ProcessId: 5136`: one process."""
    before = flatten_arrow(read_observed_data(SAMPLE), "process")
    after = flatten_arrow(sample_with_pids(hex), "process")
    assert after["pid"].to_pylist() == before["pid"].to_pylist()
    assert after["id"].to_pylist() == before["id"].to_pylist()
    assert "x_pid_raw" not in after.column_names


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5136, 5136), ("5136", 5136), (" 0x1410 ", 5136), ("-1", -1), ("abc", None),
     (True, None), (1.5, None), ("", None), ("0x", None), ("1" * 41, None)],
)  # fmt: skip
def test_as_integer(value: Any, expected: int | None) -> None:
    assert as_integer(value) == expected


def test_coerced_keeps_order_and_the_raw_value() -> None:
    sco = {"type": "network-traffic", "src_port": "443", "dst_port": [1], "protocols": ["tcp"]}
    fixed, names = coerced(sco)  # type: ignore[misc]
    assert fixed == {"type": "network-traffic", "src_port": 443, "dst_port": None,
                     "protocols": ["tcp"], "x_dst_port_raw": [1]}  # fmt: skip
    assert names == ("dst_port", "src_port")
    assert coerced({"type": "process", "pid": 4}) is None
    assert coerced({"type": "x-thing", "pid": "abc"}) is None


def write_bundle(tmp_path: Path, objects: list[Any]) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}))
    return path


def test_observations_without_type_and_junk_bundle_items_are_counted(tmp_path: Path) -> None:
    """63 of 64 rows used to be kept silently when one observation had no `type`."""
    observed = copy.deepcopy(read_observed_data(SAMPLE))
    del observed[0]["type"]
    path = write_bundle(tmp_path, [*observed, 42, "text", {}, {"type": "identity", "id": "i"}])
    streamed = lambda p: list(chain.from_iterable(stream_observed_data(p, 10)))  # noqa: E731
    for read in (read_observed_data, streamed):
        with tally.tallied() as counts:
            again = read(path)
        assert len(again) == len(observed)
        assert again[0]["type"] == "observed-data"
        assert counts == {"bundle.observed-data without type": 1, "bundle.objects": 3}
    assert flatten_arrow(again, "process").num_rows == 64


def test_the_warning_names_each_count() -> None:
    assert tally.describe({"process.pid": 32, "observed-data.objects": 2}) == (
        "observed-data.objects: 2 items of an observation's 'objects' are not SCOs (no 'type') "
        "and were skipped; process.pid: 32 values of process:pid were not integers: "
        "whole-number text became the number, anything else null with the raw value in "
        "x_pid_raw"
    )
