"""The README's examples of conditions and patterns in YAML, run as written: what it promises is
what the code accepts (and, for LIKE versus MATCHES '(?i)...', what a fetch returns)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from huntline.book import GetStep, parse_book
from huntline.errors import BookError
from huntline.expressions import evaluate, parse_condition
from huntline.steps.finish import RunContext, fetch_step
from huntline.storage import open_store
from huntline.tables import read_table
from huntline.window import Window

README = (Path(__file__).parents[2] / "README.md").read_text()
HEAD = "id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71\ntitle: t\nsteps:\n"


def blocks(section: str, language: str) -> list[str]:
    """The fenced ``language`` blocks of the README section titled ``section``."""
    body = README.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    found: list[tuple[str, list[str]]] = []
    inside = False
    for line in body.splitlines():
        if line.strip().startswith("```"):
            if not inside:
                found.append((line.strip()[3:], []))
            inside = not inside
        elif inside:
            found[-1][1].append(line)
    return ["\n".join(lines) + "\n" for kind, lines in found if kind == language]


def entries(block: str, key: str) -> list[str]:
    """Each ``key:`` entry of a YAML example block, with its indented continuation lines."""
    found: list[str] = []
    for line in block.splitlines():
        if line.lstrip().startswith(f"{key}:"):
            found.append(line.strip())
        elif found and line.startswith(" "):
            found[-1] += "\n" + line
    return found


def get_step(where: str) -> GetStep:
    indented = where.replace("\n", "\n    ")
    book = parse_book(HEAD + f"  - get: v\n    entity: file\n    from: edr\n    {indented}\n")
    step = book.steps[0]
    assert isinstance(step, GetStep)
    return step


def test_the_quoting_examples_give_the_same_pattern() -> None:
    examples = entries(blocks("Patterns in YAML", "yaml")[0], "where")
    assert len(examples) == 3
    assert {get_step(where).where for where in examples} == {"[file:name MATCHES '^.*\\\\.dll$']"}


def test_the_quoting_error_shown_is_the_one_validate_gives() -> None:
    shown = blocks("Patterns in YAML", "")[0].strip().splitlines()
    wrong = "where: \"[file:name MATCHES '^.*\\\\.dll$']\""
    with pytest.raises(BookError) as caught:
        parse_book(HEAD + f"  - get: v\n    entity: file\n    from: edr\n    {wrong}\n", "b.yaml")
    (problem,) = caught.value.problems
    assert problem.replace("b.yaml", "hunts/dlls.yaml").splitlines() == shown


def test_the_condition_forms_are_equivalent() -> None:
    infix, call = entries(blocks("Conditions", "yaml")[0], "when")
    table = {
        "command_line": ["rundll32 comsvcs.dll MiniDump", "C:\\COMSVCS x", "cmd", None],
        "parent_ref.name": ["explorer.exe", "svchost", "x.exe", None],
    }
    frame = pd.DataFrame(table)
    masks = [
        evaluate(parse_condition(text.split(":", 1)[1].strip()), frame).tolist()
        for text in (infix, call)
    ]
    assert masks == [[False, True, False, False]] * 2


def test_like_is_case_sensitive_and_matches_i_is_not(tmp_path: Path) -> None:
    names = ["powershell.exe", "PowerShell.EXE", "cmd.exe"]
    observations = [
        {
            "type": "observed-data",
            "id": f"observed-data--00000000-0000-4000-8000-00000000000{index}",
            "first_observed": "2021-05-01T10:00:00Z",
            "last_observed": "2021-05-01T10:00:00Z",
            "number_observed": 1,
            "objects": {"0": {"type": "process", "pid": index + 1, "name": name}},
        }
        for index, name in enumerate(names)
    ]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"type": "bundle", "id": "bundle--1", "objects": observations}))
    (case_insensitive,) = entries(blocks("Patterns in YAML", "yaml")[1], "where")
    context = RunContext(storage=tmp_path.as_uri(), hunt_id="h", run_date="d", flow_run_id="r")
    window = Window(datetime(2021, 5, 1, tzinfo=UTC), datetime(2021, 5, 2, tzinfo=UTC))

    def fetched(where: str) -> list[str]:
        step = parse_book(
            HEAD + f"  - get: p\n    entity: process\n    from: {bundle.as_uri()}\n    {where}\n"
        ).steps[0]
        assert isinstance(step, GetStep)
        ref = fetch_step(context, "00_get", step, window).tables["p"]
        return sorted(read_table(open_store(context.storage), ref)["name"])

    assert fetched("where: \"[process:name LIKE '%.EXE']\"") == ["PowerShell.EXE"]
    assert fetched("where: \"[process:name LIKE 'powershell%']\"") == ["powershell.exe"]
    assert fetched(case_insensitive) == ["PowerShell.EXE", "powershell.exe"]
