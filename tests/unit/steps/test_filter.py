"""``filter`` steps: a new variable from the rows of an earlier one, by STIX pattern or condition,
run as the flow runs them (plain calls over local storage)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from huntline.compile import prepare_hunt
from huntline.errors import BookError, PatternError
from huntline.expressions import ConditionError
from huntline.fetch.sources.bundle import read_observed_data
from huntline.fetch.sources.matcher import reference_match
from huntline.steps.book_checks import parse_hunt
from huntline.steps.context import RunContext, StepOutput
from huntline.steps.filter import filter_rows
from huntline.storage import open_store
from huntline.tables import read_table

NOW = datetime(2024, 6, 4, tzinfo=UTC)
BOOK = """\
id: 0b4f3c9e-1d2a-4c3b-9e8f-7a6b5c4d3e2f
title: Shells, then encoded ones
window: {{start: "2019-01-01T00:00:00Z", stop: "2030-01-01T00:00:00Z"}}
steps:
  - get: procs
    entity: process
    from: file://{bundle}
  - filter: shells
    on: procs
    where: "[process:name IN ('cmd.exe', 'powershell.exe')]"
  - filter: encoded
    on: shells
    when: command_line icontains '-enc'
alert:
  on: encoded
  when: "true"
  severity: high
  title: "Encoded {{name}}"
"""


def test_a_book_fetches_once_and_branches(repo_root: Path, tmp_path: Path) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    book = tmp_path / "book.yaml"
    book.write_text(BOOK.format(bundle=bundle))
    hunt = prepare_hunt(book, NOW)
    context = RunContext(
        storage=(tmp_path / "store").as_uri(), hunt_id="h", run_date="d", flow_run_id="r"
    )
    outputs: dict[str, StepOutput] = {}
    for planned in hunt.plan.steps:
        inputs = {var: outputs[step].tables[var] for var, step in planned.inputs.items()}
        outputs[planned.id] = planned.action.run(
            context, planned.id, planned.step, inputs, hunt.windows.get(planned.id)
        )
    store = open_store(context.storage)
    procs = read_table(store, outputs["00_get"].tables["procs"])
    shells = read_table(store, outputs["01_filter"].tables["shells"])
    encoded = read_table(store, outputs["02_filter"].tables["encoded"])
    assert sorted(set(shells["name"])) == ["cmd.exe", "powershell.exe"]
    assert len(shells) == int(procs["name"].isin(["cmd.exe", "powershell.exe"]).sum())
    assert list(shells.columns) == list(procs.columns)
    assert len(encoded) == int(shells["command_line"].str.lower().str.contains("-enc").sum()) > 0
    assert outputs["01_filter"].tables["shells"].uri == store.uri("h/d/r/01_filter/shells.parquet")
    observed = read_observed_data(bundle)
    matched = reference_match("[process:name IN ('cmd.exe', 'powershell.exe')]", observed)
    assert matched, "stix2-matcher finds the same processes' observations"


def test_where_needs_the_tables_type_and_when_its_columns() -> None:
    table = pa.table({"type": ["process"], "name": ["cmd.exe"]})
    with pytest.raises(PatternError) as error:
        filter_rows(table, where="[file:name = 'cmd.exe']")
    assert str(error.value) == (
        "STIX pattern \"[file:name = 'cmd.exe']\" compares only file properties, so it cannot "
        "select rows of a process table"
    )
    with pytest.raises(ConditionError) as raised:
        filter_rows(table, when="pid > 4")
    assert str(raised.value) == (
        "condition 'pid > 4' reads column(s) pid that the table does not have\n"
        "  hint: columns available: type, name"
    )
    untyped = pa.table({"name": ["cmd.exe", "sh"]})
    assert filter_rows(untyped, where="[process:name = 'sh']").column("name").to_pylist() == ["sh"]


FILTER_BOOK = """\
id: 0b4f3c9e-1d2a-4c3b-9e8f-7a6b5c4d3e2f
title: Filters
steps:
  - get: procs
    entity: process
    from: edr
  - filter: shells
    on: procs
    where: "[process:name MATCHES '(?=x)']"
  - filter: later
    on: nothing
    when: name == 'x'
"""


def test_filter_steps_are_checked_at_their_lines() -> None:
    with pytest.raises(BookError) as error:
        parse_hunt(FILTER_BOOK, "hunts/f.yaml")
    assert str(error.value) == (
        "hunts/f.yaml: 2 problems\n"
        "  hunts/f.yaml:9 steps[1].where: \"process:name MATCHES '(?=x)'\": '(?=x)' is not "
        "usable here: regex '(?=x)' is not valid RE2: invalid perl operator: (?=\n"
        "  hunts/f.yaml:11 steps[2].on: variable 'nothing' is not set by any earlier step (set "
        "so far: procs, shells)"
    )
    both = FILTER_BOOK.replace(
        "    on: nothing\n", '    on: procs\n    where: "[process:pid = 4]"\n'
    )
    with pytest.raises(BookError) as error:
        parse_hunt(both, "hunts/f.yaml")
    assert error.value.problems == [
        "hunts/f.yaml:10 steps[2].filter: a filter has either where: (a STIX pattern) or when: "
        "(a condition)"
    ]
