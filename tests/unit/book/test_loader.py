"""Hunt book loading: valid books parse; every problem is reported at once, with file:line."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from huntline.book import ApplyStep, GetStep, load_book, parse_book
from huntline.errors import BookError

BOOKS = Path(__file__).parents[2] / "files" / "books"


def problems_of(name: str) -> list[str]:
    with pytest.raises(BookError) as caught:
        load_book(BOOKS / name)
    prefix = str(BOOKS / name)
    return [problem.replace(prefix, name) for problem in caught.value.problems]


def test_valid_book_parses_into_typed_steps() -> None:
    book = load_book(BOOKS / "valid.yaml")
    assert [type(step) for step in book.steps] == [GetStep, GetStep, ApplyStep, ApplyStep]
    procs, conns, scoring, cluster = book.steps
    assert isinstance(procs, GetStep) and procs.sources == ["edr"] and procs.limit == 5000
    assert isinstance(conns, GetStep) and conns.window is not None
    assert isinstance(scoring, ApplyStep) and scoring.on == ["procs"]
    assert scoring.with_ == {"threshold": 2, "columns": ["a", "b"]}
    assert isinstance(cluster, ApplyStep) and cluster.timeout_seconds == 600
    assert book.window.last == "24h"


def test_schema_problems_are_all_reported_with_line_and_field() -> None:
    assert problems_of("malformed.yaml") == [
        "malformed.yaml:3 tags[1]: tag 'Execution' is not Sigma-style (lower case, dotted), "
        "e.g. attack.t1059.001",
        "malformed.yaml:4 level: expected one of 'informational', 'low', 'medium', 'high' or "
        "'critical', got 'severe'",
        "malformed.yaml:9 steps[0].wehre: unknown key (did you mean 'where'?)",
        "malformed.yaml:12 steps[1].timeout: expected a duration such as 30m, 24h or 7d, "
        "got '5 minutes'",
        "malformed.yaml:13 steps[2]: each step starts with get:, apply:, expect: or filter:",
        "malformed.yaml:18 alert.title: duplicate key 'title'",
    ]


def test_data_flow_pattern_and_condition_problems() -> None:
    problems = problems_of("dataflow.yaml")
    assert problems[0].startswith(
        "dataflow.yaml:7 steps[0].where: invalid STIX pattern: Error found at line 1:16."
    )
    assert problems[1:] == [
        "dataflow.yaml:9 steps[1].on[1]: variable 'conns' is not set by any earlier step "
        "(set so far: procs)",
        "dataflow.yaml:11 alert.on: variable 'scored' is not set by any earlier step "
        "(set so far: procs)",
        "dataflow.yaml:12 alert.when: unknown function 'open' (known: cidr, contains, endswith, "
        "exists, icontains, iendswith, istartswith, lower, matches, missing, num, path, "
        "startswith, col, field)",
    ]


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(BookError) as caught:
        parse_book("id: x\nsteps: [\n  - get: a\n", "bad.yaml")
    assert caught.value.message == "bad.yaml is not valid YAML"
    assert caught.value.problems[0].startswith("bad.yaml:3 ")


def test_not_a_mapping() -> None:
    with pytest.raises(BookError) as caught:
        parse_book("- just\n- a list\n", "list.yaml")
    assert caught.value.problems == ["list.yaml:1 expected a mapping with id, title and steps"]


def test_missing_file() -> None:
    with pytest.raises(BookError, match=r"cannot read hunt book nowhere\.yaml"):
        load_book("nowhere.yaml")


def test_on_key_is_not_read_as_boolean() -> None:
    # YAML 1.1 reads a bare `on` as True; hunt books must not.
    book = parse_book(
        "id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11\ntitle: t\nsteps:\n"
        '  - get: p\n    entity: process\n    from: edr\n    where: "[process:pid > 0]"\n'
        "  - apply: x\n    on: p\n"
    )
    assert isinstance(book.steps[1], ApplyStep) and book.steps[1].on == ["p"]


def test_book_error_survives_pickle() -> None:
    with pytest.raises(BookError) as caught:
        load_book(BOOKS / "malformed.yaml")
    clone = pickle.loads(pickle.dumps(caught.value))
    assert clone.problems == caught.value.problems
    assert str(clone) == str(caught.value)


def test_sample_hunt_book_is_valid(repo_root: Path) -> None:
    for path in sorted((repo_root / "hunts").glob("*.yaml")):
        # Not the intel feed definitions, nor a book's tests (BOOK.tests.yaml).
        if path.name != "intel.yaml" and not path.name.endswith(".tests.yaml"):
            load_book(path)
