"""Sample data of a test case becomes the STIX bundle its get step reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.booktest.sample import _unflatten, run_window, write_bundle
from huntline.booktest.spec import BookTests, Case, Expected, LoadedTests, SampleData, load_tests
from huntline.errors import BookError


def loaded(tmp_path: Path) -> LoadedTests:
    case = Case(name="c", expect=Expected(alerts=0))
    return LoadedTests(
        path=tmp_path / "x.tests.yaml", book=tmp_path / "x.yaml", tests=BookTests(cases=[case])
    )


def test_a_row_becomes_an_entity_with_its_references() -> None:
    row = {
        "name": "cmd.exe",
        "pid": 10.0,
        "parent_ref.name": "WINWORD.EXE",
        "binary_ref.parent_directory_ref.path": "C:\\Windows",
        "src_ref.value": "fe80::1",
        "id": "process--dropped",
        "hashes.SHA-256": "not rebuilt",
    }
    assert _unflatten(row, "process") == {
        "0": {
            "type": "process",
            "name": "cmd.exe",
            "pid": 10,
            "parent_ref": "1",
            "src_ref": "2",
            "binary_ref": "3",
        },
        "1": {"type": "process", "name": "WINWORD.EXE"},
        "2": {"type": "ipv6-addr", "value": "fe80::1"},
        "3": {"type": "file", "parent_directory_ref": "4"},
        "4": {"type": "directory", "path": "C:\\Windows"},
    }


def test_inline_objects_are_stamped_with_the_case_time(tmp_path: Path) -> None:
    tests = loaded(tmp_path)
    case = tests.tests.cases[0]
    data = SampleData(objects=[[{"type": "process", "name": "a"}]])
    span = write_bundle(tests, case, data, "process", tmp_path / "procs.json")
    bundle = json.loads((tmp_path / "procs.json").read_text())
    (observed,) = bundle["objects"]
    assert observed["objects"] == {"0": {"type": "process", "name": "a"}}
    assert observed["first_observed"] == "2024-06-03T12:00:00.000Z"
    assert span == (case.time, case.time)
    start, stop = run_window([span, None], case)
    assert start < case.time < stop


def test_no_data_is_an_empty_bundle_and_a_window_around_the_case(tmp_path: Path) -> None:
    tests = loaded(tmp_path)
    case = tests.tests.cases[0]
    assert write_bundle(tests, case, None, "process", tmp_path / "p.json") is None
    assert json.loads((tmp_path / "p.json").read_text())["objects"] == []
    start, stop = run_window([None], case)
    assert start < datetime(2024, 6, 3, 12, tzinfo=UTC) < stop


def test_a_table_file_that_cannot_be_read_names_itself(tmp_path: Path) -> None:
    tests = loaded(tmp_path)
    with pytest.raises(BookError, match=r"cannot read table .*missing\.json"):
        write_bundle(
            tests,
            tests.tests.cases[0],
            SampleData(table=Path("missing.json")),
            "process",
            tmp_path / "p.json",
        )


def test_a_bundle_nested_too_deep_is_an_error_not_a_crash(tmp_path: Path) -> None:
    tests = loaded(tmp_path)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BookError) as caught:
        write_bundle(
            tests,
            tests.tests.cases[0],
            SampleData(bundle=Path("deep.json")),
            "process",
            tmp_path / "p.json",
        )
    assert str(caught.value) == (
        f"{tests.path}: cannot read bundle {tmp_path / 'deep.json'}: maximum recursion depth "
        "exceeded while decoding a JSON array from a unicode string"
    )


def test_a_tests_file_with_problems_lists_them(tmp_path: Path) -> None:
    path = tmp_path / "x.tests.yaml"
    path.write_text(
        "cases:\n"
        "  - name: one\n"
        "    data: {procs: {objects: [], table: t.json}}\n"
        "    expect: {alerts: 1, all: ['title ~ 1'], extra: 1}\n"
    )
    with pytest.raises(BookError) as caught:
        load_tests(path)
    assert str(caught.value) == (
        f"{path}: invalid tests file\n"
        f"  {path}:3 cases[0].data.procs: give exactly one of objects:, bundle: or table:\n"
        f"  {path}:4 cases[0].expect.all: 'title ~ 1': condition does not parse at column 7: "
        "invalid syntax\n"
        f"  {path}:4 cases[0].expect.extra: unknown key"
    )
