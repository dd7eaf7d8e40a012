"""Entity types, the every-entity pattern, and YAML quoting hints: what validate catches."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stix_shifter.stix_translation.stix_translation import StixTranslation

from huntline.book import GetStep, parse_book
from huntline.book.observables import every_entity_pattern
from huntline.errors import BookError
from huntline.steps.finish import RunContext, fetch_step
from huntline.storage import open_store
from huntline.tables import read_table
from huntline.window import Window

HEAD = "id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71\ntitle: t\nsteps:\n"


def problems(steps: str) -> list[str]:
    with pytest.raises(BookError) as caught:
        parse_book(HEAD + steps, "b.yaml")
    return caught.value.problems


def test_an_entity_typo_is_rejected_with_did_you_mean() -> None:
    assert problems(
        "  - get: p\n    entity: proces\n    from: edr\n    where: '[process:pid > 0]'\n"
    ) == [
        "b.yaml:5 steps[0].entity: 'proces' is not a STIX cyber-observable type (did you mean "
        "'process'?); custom types start with x- (e.g. x-oca-event)"
    ]


def test_custom_types_and_every_known_type_pass() -> None:
    book = parse_book(
        HEAD + "  - get: e\n    entity: x-oca-event\n    from: edr\n"
        "    where: \"[x-oca-event:action = 'x']\"\n"
        "  - get: n\n    entity: network-traffic\n    from: edr\n"
        "    where: \"[process:name = 'x']\"\n"
    )
    assert [step.entity for step in book.steps if isinstance(step, GetStep)] == [
        "x-oca-event",
        "network-traffic",
    ]


def test_a_pattern_that_can_return_nothing_is_rejected() -> None:
    assert problems(
        "  - get: e\n    entity: x-oca-evnt\n    from: edr\n"
        "    where: \"[x-oca-event:action = 'x']\"\n"
        "  - get: p\n    entity: process\n    from: edr\n"
        "    where: \"[proces:pid > 0 OR process:name = 'a']\"\n"
    ) == [
        "b.yaml:7 steps[0].where: entity is 'x-oca-evnt' but the pattern compares only "
        "x-oca-event, so the step would return no x-oca-evnt (did you mean entity: x-oca-event?)",
        "b.yaml:11 steps[1].where: the pattern compares 'proces': 'proces' is not a STIX "
        "cyber-observable type (did you mean 'process'?); custom types start with x- "
        "(e.g. x-oca-event)",
    ]


def test_a_double_quoted_backslash_gets_a_yaml_hint() -> None:
    found = problems(
        "  - get: d\n    entity: file\n    from: edr\n"
        "    where: \"[file:name MATCHES '^.*\\\\.dll$']\"\n"
    )
    assert found == [
        "b.yaml:7 steps[0].where: invalid STIX pattern: Error found at line 1:19. mismatched "
        "input ''' expecting StringLiteral\n"
        "  hint: YAML read the double-quoted string \"[file:name MATCHES '^.*\\\\.dll$']\" as "
        "[file:name MATCHES '^.*\\.dll$']: inside double quotes YAML reads a backslash as an "
        "escape (\\\\ becomes \\), so each STIX \\\\ must be written \\\\\\\\; single quotes or a "
        "block scalar (where: >-) keep backslashes as written"
    ]


@pytest.mark.parametrize(
    "where",
    [
        "\"[file:name MATCHES '^.*\\\\\\\\.dll$']\"",  # double-quoted: \\\\ in YAML
        "'[file:name MATCHES ''^.*\\\\.dll$'']'",  # single-quoted: '' for each STIX quote
        ">-\n      [file:name MATCHES '^.*\\\\.dll$']",  # a block scalar: as written
    ],
)
def test_the_documented_quoting_forms_give_the_same_pattern(where: str) -> None:
    book = parse_book(HEAD + f"  - get: d\n    entity: file\n    from: edr\n    where: {where}\n")
    step = book.steps[0]
    assert isinstance(step, GetStep)
    assert step.where == "[file:name MATCHES '^.*\\\\.dll$']"


def test_without_where_a_step_gets_every_entity_of_its_type() -> None:
    book = parse_book(HEAD + "  - get: p\n    entity: process\n    from: edr\n")
    step = book.steps[0]
    assert isinstance(step, GetStep)
    assert step.where == "[process:type = 'process' OR process:name LIKE '%']"
    assert every_entity_pattern("x-oca-event") == "[x-oca-event:type = 'x-oca-event']"


WINDOW = " START t'2024-01-01T00:00:00.000Z' STOP t'2024-01-02T00:00:00.000Z'"


@pytest.mark.parametrize(
    ("connector", "options", "expected"),
    [
        (
            "mysql",
            {"table": "events"},
            "SELECT * FROM events WHERE process_name LIKE '%%%' "
            "AND (entry_time >= 1704067200000 AND entry_time <= 1704153600000)",
        ),
        (
            "elastic_ecs",
            {},
            '(process.name : * OR process.parent.name : *) AND (@timestamp:["2024-01-01T00:'
            '00:00.000Z" TO "2024-01-02T00:00:00.000Z"])',
        ),
        ("stix_bundle", {}, every_entity_pattern("process") + WINDOW),
    ],
)
def test_every_entity_pattern_translates_for_each_connector(
    connector: str, options: dict[str, str], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    answer = StixTranslation().translate(
        connector, "query", "{}", every_entity_pattern("process") + WINDOW, options
    )
    assert "queries" in answer, answer
    assert expected in answer["queries"][0]


def _observation(number: int, process: dict[str, object]) -> dict[str, object]:
    return {
        "type": "observed-data",
        "id": f"observed-data--00000000-0000-4000-8000-00000000000{number}",
        "first_observed": "2021-05-01T10:00:00Z",
        "last_observed": "2021-05-01T10:00:00Z",
        "number_observed": 1,
        "objects": {"0": process},
    }


def test_every_process_comes_back_even_without_a_pid(tmp_path: Path) -> None:
    processes = [
        {"type": "process", "pid": 4, "name": "System"},
        {"type": "process", "pid": 0, "name": "Idle"},
        {"type": "process", "name": "no-pid.exe", "x_unique_id": "a"},
        {"type": "process", "x_unique_id": "b"},
    ]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(
        json.dumps(
            {
                "type": "bundle",
                "id": "bundle--00000000-0000-4000-8000-000000000000",
                "objects": [_observation(i, p) for i, p in enumerate(processes)],
            }
        )
    )
    book = parse_book(HEAD + f"  - get: procs\n    entity: process\n    from: {bundle.as_uri()}\n")
    step = book.steps[0]
    assert isinstance(step, GetStep)
    context = RunContext(
        storage=(tmp_path / "store").as_uri(), hunt_id="h", run_date="d", flow_run_id="r"
    )
    window = Window(datetime(2021, 5, 1, tzinfo=UTC), datetime(2021, 5, 2, tzinfo=UTC))
    output = fetch_step(context, "00_get", step, window)
    table = read_table(open_store(context.storage), output.tables["procs"])
    assert sorted(map(str, table["name"].fillna("-"))) == ["-", "Idle", "System", "no-pid.exe"]


def test_a_single_quoted_pattern_that_yaml_unquoted_gets_a_hint() -> None:
    found = problems(
        "  - get: d\n    entity: file\n    from: edr\n    where: '[file:name = ''it''s'']'\n"
    )
    assert found == [
        "b.yaml:7 steps[0].where: invalid STIX pattern: Error found at line 1:17. mismatched "
        "input 's' expecting ']'\n"
        "  hint: YAML read the single-quoted string '[file:name = ''it''s'']' as "
        "[file:name = 'it's']: inside single quotes YAML reads '' as one ', so each ' of the "
        "pattern is written ''; a quote inside a STIX string is \\' (written \\'' here); a "
        "block scalar (where: >-) needs no doubling"
    ]
