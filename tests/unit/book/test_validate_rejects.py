"""What ``validate`` accepted and must not (issue 22, items 5, 7 and 9): regexes RE2 cannot run,
START after STOP, malformed conditions, crons that never fire or have 7 fields, an empty
``dedup``, a zero timeout, image references outside Docker's grammar (``docker://../x`` reached
the Engine API path as ``/v1.41/x/json``), and a multi-file validate that stopped at the first
file with an empty ``docker://``. Each is reported at its file:line, in full.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline import cli
from huntline.errors import BookError
from huntline.steps.book_checks import parse_hunt

BOOK = """id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: rejects
steps:
  - get: procs
    entity: process
    where: {where}
    from: file://hunts/data/sample_endpoint_bundle.json
  - apply: {apply}
    on: procs
    timeout: {timeout}
alert:
  on: procs
  when: {when}
  title: "{{name}}"
  dedup: {dedup}
schedule:
  cron: {cron}
"""
GOOD = {
    "where": "\"[process:name = 'x']\"",
    "apply": "docker://susp_scoring",
    "timeout": "5m",
    "when": "name == 'x'",
    "dedup": "[name]",
    "cron": "'*/30 * * * *'",
}
RE2 = "\n  hint: huntline runs regexes with RE2 (linear time): no look-around, no back-references"
IMAGE_HINT = (
    "; an image reference is [HOST[:PORT]/]NAME[:TAG][@DIGEST] with a lower-case NAME "
    "(e.g. ghcr.io/acme/scoring:1.0), or docker://NAME for kestrel-analytics-NAME"
)


def problems(**changes: str) -> list[str]:
    with pytest.raises(BookError) as caught:
        parse_hunt(BOOK.format(**{**GOOD, **changes}), "b.yaml")
    return caught.value.problems


def test_the_good_book_passes() -> None:
    parse_hunt(BOOK.format(**GOOD), "b.yaml")


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        (
            "\"[process:name MATCHES '(']\"",
            "MATCHES regex '(' is not valid RE2: missing ): (" + RE2,
        ),
        (
            "\"[process:name MATCHES '(?<=a)b']\"",
            "MATCHES regex '(?<=a)b' is not valid RE2: invalid perl operator: (?<=" + RE2,
        ),
        (
            "\"[process:name = 'x'] START t'2024-02-01T00:00:00Z' STOP t'2024-01-01T00:00:00Z'\"",
            "START t'2024-02-01T00:00:00Z' is not before STOP t'2024-01-01T00:00:00Z': "
            "the qualifier selects nothing",
        ),
    ],
)
def test_patterns(where: str, problem: str) -> None:
    assert problems(where=where) == [f"b.yaml:6 steps[0].where: {problem}"]


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ("exists()", "exists() takes 1 argument, got 0"),
        ("lower(name, name) == 'x'", "lower() takes 1 argument, got 2"),
        ("col('') == 1", "col(''): a column name cannot be empty"),
        (
            "name in 5",
            "'name in 5': 'in' takes a list of values, e.g. name in ['cmd.exe', 'powershell.exe']",
        ),
        (
            "x == b'a'",
            "b'a' is not a literal a condition can hold (text, a number, True, False or None)",
        ),
        ("name matches '('", "matches(): regex '(' is not valid RE2: missing ): (" + RE2),
        ("matches(name, '(')", "matches(): regex '(' is not valid RE2: missing ): (" + RE2),
        (
            "matches(name, command_line)",
            "matches(): the second argument is a text literal, e.g. "
            "matches(command_line, 'text'), not command_line",
        ),
    ],
)
def test_conditions(when: str, problem: str) -> None:
    assert problems(when=f'"{when}"') == [f"b.yaml:13 alert.when: {problem}"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"cron": "'0 0 31 2 *'"},
            "b.yaml:17 schedule.cron: cron '0 0 31 2 *' never fires: no date has that day "
            "and month",
        ),
        (
            {"cron": "'0 0 * * * * *'"},
            "b.yaml:17 schedule.cron: cron '0 0 * * * * *' has 7 fields; a cron expression has "
            "5: minute hour day-of-month month day-of-week",
        ),
        (
            {"dedup": "[]"},
            "b.yaml:15 alert.dedup: an empty dedup list: leave dedup out (the key is then "
            "group_by, else the entity id) or name its columns",
        ),
        (
            {"timeout": "0s"},
            "b.yaml:10 steps[1].timeout: a timeout must be longer than 0s, got '0s'",
        ),
        (
            {"apply": "docker://../x"},
            "b.yaml:8 steps[1].apply: 'docker://../x' is not a valid image reference "
            "(it names '../x')" + IMAGE_HINT,
        ),
        (
            {"apply": "'docker://acme/Scoring:1'"},
            "b.yaml:8 steps[1].apply: 'docker://acme/Scoring:1' is not a valid image reference "
            "(it names 'acme/Scoring:1')" + IMAGE_HINT,
        ),
        (
            {"apply": "'docker://'"},
            "b.yaml:8 steps[1].apply: empty analytics reference 'docker://': use docker://NAME "
            "or an image" + IMAGE_HINT,
        ),
    ],
)
def test_fields(changes: dict[str, str], problem: str) -> None:
    assert problems(**changes) == [problem]


@pytest.mark.parametrize(
    "image",
    [
        "susp_scoring",
        "ghcr.io/acme/scoring:1.0",
        "localhost:5000/team/scoring:v2",
        "acme/scoring@sha256:" + "0" * 64,
        "[::1]:5000/scoring",
    ],
)
def test_valid_image_references_pass(image: str) -> None:
    parse_hunt(BOOK.format(**{**GOOD, "apply": f"'docker://{image}'"}), "b.yaml")


def test_multi_file_validate_checks_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty docker:// used to end validate with a bare error before the next file."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(BOOK.format(**{**GOOD, "apply": "'docker://'"}))
    second.write_text(BOOK.format(**{**GOOD, "timeout": "0s"}))
    assert cli.main(["validate", str(first), str(second)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"✗ {first}: 1 problem",
        f"  {first}:8 steps[1].apply: empty analytics reference 'docker://': use docker://NAME "
        "or an image" + IMAGE_HINT,
        f"✗ {second}: 1 problem",
        f"  {second}:10 steps[1].timeout: a timeout must be longer than 0s, got '0s'",
    ]
