"""The step kind registry: the YAML switch, the known keys, the data flow and the reports all
come from STEP_KINDS, so a new kind is one module and one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.book import STEP_KINDS, ApplyStep, GetStep, kind_of, load_book, parse_book
from huntline.book.steps import KEYWORDS, ExpectStep, FilterStep
from huntline.book.variables import data_flow
from huntline.errors import BookError
from huntline.steps import action_of
from huntline.steps.context import StepOutput
from huntline.storage import TableRef

BOOKS = Path(__file__).parents[2] / "files" / "books"
HEAD = "id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11\ntitle: t\nsteps:\n"


def test_every_kind_has_one_keyword_and_model() -> None:
    assert KEYWORDS == ("get", "apply", "expect", "filter")
    assert [kind.model for kind in STEP_KINDS] == [GetStep, ApplyStep, ExpectStep, FilterStep]
    book = load_book(BOOKS / "valid.yaml")
    assert [kind_of(step).keyword for step in book.steps] == ["get", "get", "apply", "apply"]


def test_the_step_switch_lists_the_registered_keywords() -> None:
    with pytest.raises(BookError) as caught:
        parse_book(HEAD + "  - fetch: procs\n", "k.yaml")
    assert caught.value.problems == [
        "k.yaml:4 steps[0]: each step starts with get:, apply:, expect: or filter:"
    ]


def test_unknown_keys_are_guessed_from_every_kind() -> None:
    with pytest.raises(BookError) as caught:
        parse_book(HEAD + "  - get: p\n    entity: process\n    from: edr\n    limt: 3\n", "k.yaml")
    assert caught.value.problems == ["k.yaml:7 steps[0].limt: unknown key (did you mean 'limit'?)"]


def test_data_flow_finds_reads_before_sets_once() -> None:
    book = load_book(BOOKS / "valid.yaml")
    flow = data_flow(book.steps, "procs")
    assert flow.inputs == ({}, {}, {"procs": 0}, {"conns": 1})
    assert flow.writers == {"procs": 2, "conns": 3}
    assert flow.unset == ()
    broken = data_flow(book.steps[2:], "procs")
    assert [(u.location, u.message) for u in broken.unset] == [
        (
            ("steps", 0, "on", 0),
            "variable 'procs' is not set by any earlier step (set so far: none yet)",
        ),
        (
            ("steps", 1, "on", 0),
            "variable 'conns' is not set by any earlier step (set so far: none yet)",
        ),
        (("alert", "on"), "variable 'procs' is not set by any earlier step (set so far: none yet)"),
    ]


def test_reports_say_what_the_tasks_log_and_link() -> None:
    book = load_book(BOOKS / "valid.yaml")
    get, apply = book.steps[0], book.steps[2]
    empty = TableRef(uri="file:///s/00_get/procs.parquet", rows=0, columns=["id"], sha256="x")
    report = action_of(get).report(
        "00_get", get, StepOutput(step_id="00_get", tables={"procs": empty})
    )
    assert report.info == ("00_get: 0 rows of process into file:///s/00_get/procs.parquet",)
    assert report.warnings == ()  # the empty fetch is in output.warnings (run summary)
    assert [(link.key, link.text) for link in report.links] == [("00_get-procs", "procs: 0 rows")]
    skipped = StepOutput(step_id="02_apply", tables={"procs": empty}, image="kestrel-analytics-x")
    report = action_of(apply).report("02_apply", apply, skipped)
    assert report.warnings == (
        "02_apply: every input is empty, so kestrel-analytics-x did not run",
    )
    assert report.links == ()
