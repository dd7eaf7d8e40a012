"""Row conditions: a safe expression subset, evaluated column-wise."""

from __future__ import annotations

import ast
import re

import pandas as pd
import pytest

from huntline.expressions import ConditionError, evaluate, parse_condition


@pytest.fixture
def procs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["cmd.exe", "powershell.exe", "notepad.exe", None],
            "x_suspicious_score": [2, 3, 0, 1],
            "parent_ref.name": ["WINWORD.EXE", "cmd.exe", "explorer.exe", None],
            "command_line": ["cmd /c whoami", "powershell -enc AAA", "notepad a.txt", None],
            "hashes.'SHA-256'": ["aa", "bb", None, "cc"],
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x_suspicious_score >= 2", [True, True, False, False]),
        (
            "x_suspicious_score >= 2 and parent_ref.name == 'WINWORD.EXE'",
            [True, False, False, False],
        ),
        ("name in ['cmd.exe', 'notepad.exe']", [True, False, True, False]),
        ("name not in ['cmd.exe']", [False, True, True, True]),
        ("contains(command_line, '-enc') or x_suspicious_score == 0", [False, True, True, False]),
        ("icontains(parent_ref.name, 'winword')", [True, False, False, False]),
        ("matches(command_line, '^cmd ')", [True, False, False, False]),
        ("not exists(name)", [False, False, False, True]),
        ("name == None", [False, False, False, True]),
        ("0 < x_suspicious_score < 3", [True, False, False, True]),
        ("col(\"hashes.'SHA-256'\") == 'bb'", [False, True, False, False]),
        ("lower(name) == 'cmd.exe'", [True, False, False, False]),
    ],
)
def test_conditions_select_rows(procs: pd.DataFrame, text: str, expected: list[bool]) -> None:
    assert evaluate(parse_condition(text), procs).tolist() == expected


def test_columns_read_are_known() -> None:
    condition = parse_condition("a.b > 1 and contains(c, 'x') and col('d e') == 1")
    assert condition.columns == ("a.b", "c", "d e")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('id')", "is not allowed in a condition"),
        ("name.upper()", "'name.upper()' is not allowed in a condition"),
        ("name[0] == 'c'", "'name[0]' is not allowed in a condition"),
        ("x >", "condition does not parse at column"),
        ("(lambda: 1)()", "is not allowed in a condition"),
        ("name in [other]", "lists may hold only literal values"),
    ],
)
def test_unsafe_or_broken_conditions_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=re.escape(message)):
        parse_condition(text)


def test_missing_column_is_named(procs: pd.DataFrame) -> None:
    with pytest.raises(ConditionError) as caught:
        evaluate(parse_condition("score > 1"), procs)
    assert caught.value.message == (
        "condition 'score > 1' reads column(s) score that the table does not have"
    )
    assert "x_suspicious_score" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("infix", "call"),
    [
        ("command_line icontains 'POWERSHELL'", "icontains(command_line, 'POWERSHELL')"),
        ("command_line contains '-enc'", "contains(command_line, '-enc')"),
        ("command_line matches '^cmd '", "matches(command_line, '^cmd ')"),
        ("name startswith 'power'", "startswith(name, 'power')"),
        ("lower(parent_ref.name) endswith '.exe'", "endswith(lower(parent_ref.name), '.exe')"),
        ("col(\"hashes.'SHA-256'\") contains 'b'", "contains(col(\"hashes.'SHA-256'\"), 'b')"),
        (
            "not name endswith '.exe' or x_suspicious_score >= 3 and name contains 'shell'",
            "not endswith(name, '.exe') or (x_suspicious_score >= 3 and contains(name, 'shell'))",
        ),
    ],
)
def test_infix_text_tests_equal_the_call_form(procs: pd.DataFrame, infix: str, call: str) -> None:
    parsed = parse_condition(infix)
    assert parsed.text == infix
    assert ast.unparse(parsed.tree) == call
    assert evaluate(parsed, procs).tolist() == evaluate(parse_condition(call), procs).tolist()


def test_a_condition_that_does_not_parse_shows_the_accepted_forms() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition("command_line icontains")
    assert str(caught.value) == (
        "condition does not parse at column 14: invalid syntax\n"
        "  hint: a condition is comparisons (== != < <= > >= in, not in) joined by and/or/not; "
        "text tests are written infix or as calls: command_line icontains 'comsvcs' or "
        "icontains(command_line, 'comsvcs') (also contains, matches, startswith, endswith, "
        "istartswith, iendswith, cidr; exists(x), missing(x), lower(x), num(x), path(dir, name), "
        "field('x')), e.g. "
        "x_suspicious_score >= 2 and parent_ref.name != 'explorer.exe'"
    )


def test_a_bare_matmul_is_still_rejected() -> None:
    with pytest.raises(ConditionError, match="'a @ b' is not allowed in a condition"):
        parse_condition("a @ b")


# -- the forms Sigma rules need (huntline.sigma writes them) ---------------------------------
@pytest.fixture
def sigma_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dir": ["C:\\Windows\\System32", "/usr/bin", "C:\\Temp\\", None],
            "name": ["CMD.exe", "curl", "a.exe", "x.exe"],
            "ip": ["10.1.2.3", "192.168.0.1", "not an ip", None],
            "pid": ["4", "100", None, "7"],
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("istartswith(name, 'cmd')", [True, False, False, False]),
        ("name iendswith '.EXE'", [True, False, True, True]),
        ("cidr(ip, '10.0.0.0/8')", [True, False, False, False]),
        ("ip cidr '192.168.0.0/16'", [False, True, False, False]),
        ("num(pid) > 5", [False, True, False, True]),
        ("num(pid) == 4", [True, False, False, False]),
        (
            "path(dir, name) in ['C:\\\\Windows\\\\System32\\\\CMD.exe', '/usr/bin/curl', "
            "'C:\\\\Temp\\\\a.exe']",
            [True, True, True, False],
        ),
        ("missing(path(dir, name))", [False, False, False, True]),
        # a field("...") the table lacks is null: tests on it are false, missing() is true
        ("icontains(field('x_original_file_name'), 'cmd')", [False] * 4),
        ("missing(field('x_original_file_name')) and field('name') == 'curl'", [0, 1, 0, 0]),
    ],
)
def test_sigma_forms(sigma_rows: pd.DataFrame, text: str, expected: list[bool]) -> None:
    assert evaluate(parse_condition(text), sigma_rows).tolist() == [bool(e) for e in expected]


def test_field_is_optional_but_a_bare_name_stays_strict(sigma_rows: pd.DataFrame) -> None:
    parsed = parse_condition("field('x_company') == 'a' or x_product == 'b'")
    assert parsed.columns == ("x_company", "x_product")
    assert parsed.optional == ("x_company",)
    with pytest.raises(ConditionError, match=r"reads column\(s\) x_product that the table"):
        evaluate(parsed, sigma_rows)
