"""Gates run through real great_expectations 1.x on small tables."""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import UTC, datetime

import pandas as pd
import pytest
from pydantic import TypeAdapter

from huntline.errors import QualityError
from huntline.quality import AnyCheck, GateResult, enforce, run_gate

CHECKS = TypeAdapter(list[AnyCheck])
WINDOW_END = datetime(2024, 6, 3, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def procs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p3"],
            "name": ["cmd.exe", "powershell.exe", None, "svchost.exe"],
            "pid": [10, 20, 30, 40],
            "x_datasource": ["edr", "edr", "siem", "edr"],
            "last_observed": [
                "2024-06-03T08:00:00.000Z",
                "2024-06-03T11:30:00.000Z",
                None,
                "2024-06-03T09:00:00.000Z",
            ],
        }
    )


def gate(table: pd.DataFrame, *checks: object, on_fail: str = "fail") -> GateResult:
    return run_gate(
        table,
        CHECKS.validate_python(list(checks)),
        variable="procs",
        step_id="01_expect",
        on_fail=on_fail,  # type: ignore[arg-type]
        reference=WINDOW_END,
    )


def test_checks_that_hold_pass(procs: pd.DataFrame) -> None:
    result = gate(
        procs,
        {"rows": {"min": 1, "max": 4}},
        {"column_exists": "name"},
        {"not_null": {"column": "name", "mostly": 0.7}},
        {"between": {"column": "pid", "min": 0, "max": 100}},
        {"in_set": {"column": "x_datasource", "values": ["edr", "siem"]}},
        {"unique": "pid"},
        {"matches": {"column": "name", "regex": "(?i)[.]exe$"}},
        {"fresh": "1h"},
    )
    assert result.passed and result.status == "passed"
    assert [check.observed for check in result.checks] == [
        "4 rows",
        "present",
        "1 of 4 values null (25.0%)",
        "0 of 4 non-null values outside the range",
        "0 of 4 non-null values not in the set",
        "0 of 4 non-null values duplicated",
        "0 of 3 non-null values not matching",
        "newest last_observed is 2024-06-03T11:30:00+00:00, 0:30:00 before the window's end "
        "2024-06-03T12:00:00+00:00 (allowed: 1h)",
    ]
    assert result.checks[0].expectation == "expect_table_row_count_to_be_between"
    enforce(result)  # raises nothing


def test_each_failure_says_what_was_observed(procs: pd.DataFrame) -> None:
    result = gate(
        procs,
        {"rows": {"min": 5}},
        {"not_null": "name"},
        {"in_set": {"column": "x_datasource", "values": ["edr"]}},
        {"unique": "id"},
        {"fresh": "15m"},
        {"column_exists": "user_ref.user_id"},
        {"between": {"column": "missing_column", "max": 1}},
    )
    assert result.status == "failed"
    assert [(check.passed, check.observed) for check in result.checks] == [
        (False, "4 rows"),
        (False, "1 of 4 values null (25.0%)"),
        (False, "1 of 4 non-null values not in the set, e.g. 'siem'"),
        (False, "2 of 4 non-null values duplicated, e.g. 'p3'"),
        (
            False,
            "newest last_observed is 2024-06-03T11:30:00+00:00, 0:30:00 before the window's "
            "end 2024-06-03T12:00:00+00:00 (allowed: 15m)",
        ),
        (False, "missing (columns: id, name, pid, x_datasource, last_observed)"),
        (
            False,
            "column 'missing_column' is missing (columns: id, name, pid, x_datasource, "
            "last_observed)",
        ),
    ]
    assert result.checks[2].details["unexpected_examples"] == ["siem"]


def test_a_failed_fail_gate_raises_one_clear_error(procs: pd.DataFrame) -> None:
    result = gate(
        procs, {"rows": {"min": 1}}, {"in_set": {"column": "x_datasource", "values": ["edr"]}}
    )
    with pytest.raises(QualityError) as caught:
        enforce(result)
    assert caught.value.message == (
        "gate 01_expect on procs failed: in_set(x_datasource, values=[edr]): "
        "1 of 4 non-null values not in the set, e.g. 'siem'"
    )
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.message == caught.value.message and copy.context["variable"] == "procs"


def test_a_warn_gate_reports_but_never_raises(procs: pd.DataFrame) -> None:
    result = gate(procs, {"rows": {"min": 100}}, on_fail="warn")
    assert result.status == "warned"
    enforce(result)


def test_empty_table(procs: pd.DataFrame) -> None:
    result = gate(procs.iloc[0:0], {"rows": {"min": 1}}, {"not_null": "name"}, {"fresh": "1h"})
    assert [(c.passed, c.observed) for c in result.checks] == [
        (False, "0 rows"),
        (True, "0 of 0 values null (0.0%)"),
        (False, "no last_observed values"),
    ]


def test_markdown_lists_every_check(procs: pd.DataFrame) -> None:
    result = gate(
        procs, {"rows": {"min": 1}}, {"in_set": {"column": "x_datasource", "values": ["edr"]}}
    )
    text = result.markdown()
    assert text.startswith("### Quality gate `01_expect` on `procs`: FAILED ❌\n")
    assert "| `rows(min=1)` | `expect_table_row_count_to_be_between` | 4 rows | pass |" in text
    assert (
        "| `in_set(x_datasource, values=[edr])` | `expect_column_values_to_be_in_set` | "
        "1 of 4 non-null values not in the set, e.g. 'siem' | **FAIL** |"
    ) in text
    assert GateResult.model_validate_json(result.model_dump_json()) == result


def test_loading_checks_does_not_import_great_expectations() -> None:
    code = (
        "import sys; from huntline.quality import AnyCheck, run_gate; "
        "from pydantic import TypeAdapter; "
        "TypeAdapter(list[AnyCheck]).validate_python([{'rows': {'min': 1}}]); "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_matches_runs_in_linear_time() -> None:
    """great_expectations searches with pandas' str.contains on Arrow strings: RE2 for every
    regex validate lets through, so ``(a+)+$`` on a long name is fast (issue 22, item 5)."""
    import time

    evil = pd.DataFrame({"id": ["p1", "p2"], "name": ["a" * 5000 + "!", "aaa"]})
    started = time.monotonic()
    result = gate(evil, {"matches": {"column": "name", "regex": "(a+)+$"}}, on_fail="warn")
    assert time.monotonic() - started < 30  # GE's own overhead; the regex costs milliseconds
    assert result.checks[0].observed == (  # an example is cut at 80 characters
        "1 of 2 non-null values not matching, e.g. '" + "a" * 78 + "…"
    )
