"""The ``expect:`` step kind: how a book writes a gate, what validate says, what compile shows."""

from __future__ import annotations

import pytest

from huntline.book import parse_book
from huntline.book.steps import ExpectStep
from huntline.errors import BookError, QualityError
from huntline.quality import CheckResult, GateResult
from huntline.steps import action_of
from huntline.steps.context import StepOutput

HEAD = """id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11
title: gates
steps:
"""
GET = """  - get: procs
    entity: process
    from: edr
"""


def test_a_gate_parses_with_its_checks_and_default_on_fail() -> None:
    book = parse_book(
        HEAD + GET + "  - expect: procs\n    checks: [{rows: {min: 1}}, {unique: id}]\n"
    )
    gate = book.steps[1]
    assert isinstance(gate, ExpectStep) and gate.on_fail == "fail"
    assert gate.reads == gate.writes == ("procs",)
    assert action_of(gate).explain(gate, None) == (
        "great_expectations ON procs: rows(min=1), unique(id) (on_fail fail)"
    )


def test_validate_names_every_gate_problem_at_its_line() -> None:
    text = (
        HEAD
        + GET
        + (
            "  - expect: procs\n"
            "    checks:\n"
            "      - not_nul: {column: name}\n"
            "      - between: {column: pid, min: 10, max: 1}\n"
            "    on_fail: maybe\n"
        )
    )
    with pytest.raises(BookError) as caught:
        parse_book(text, "g.yaml")
    assert caught.value.problems == [
        "g.yaml:9 steps[1].checks[0]: unknown check 'not_nul' (did you mean 'not_null'?); known: "
        "column_exists, not_null, between, in_set, unique, rows, matches, fresh",
        "g.yaml:10 steps[1].checks[1].between: min 10 is greater than max 1",
        "g.yaml:11 steps[1].on_fail: expected one of 'fail' or 'warn', got 'maybe'",
    ]


def test_a_gate_before_its_variable_is_set_is_reported() -> None:
    with pytest.raises(BookError) as caught:
        parse_book(HEAD + "  - expect: procs\n    checks: [{rows: {min: 1}}]\n" + GET, "g.yaml")
    assert caught.value.problems == [
        "g.yaml:4 steps[0].expect: variable 'procs' is not set by any earlier step "
        "(set so far: none yet)"
    ]


def test_a_failed_fail_gate_reports_then_raises() -> None:
    book = parse_book(HEAD + GET + "  - expect: procs\n    checks: [{rows: {min: 1}}]\n")
    gate = book.steps[1]
    assert isinstance(gate, ExpectStep)
    failed = GateResult(
        variable="procs",
        step_id="01_expect",
        on_fail="fail",
        rows=0,
        checks=[
            CheckResult(
                check="rows(min=1)",
                expectation="expect_table_row_count_to_be_between",
                passed=False,
                observed="0 rows",
            )
        ],
        seconds=0.1,
    )
    output = StepOutput(step_id="01_expect", tables={}, gate=failed.model_dump(mode="json"))
    report = action_of(gate).report("01_expect", gate, output)
    assert isinstance(report.error, QualityError)
    assert report.error.message == "gate 01_expect on procs failed: rows(min=1): 0 rows"
    (markdown,) = report.markdown
    assert markdown.key == "01_expect-gate-procs" and "**FAIL**" in markdown.text
