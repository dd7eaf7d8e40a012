"""The compact check forms a book writes, and the errors ``huntline validate`` shows for them."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from huntline.book.gate_checks import Between, Fresh, NotNull, Rows, Unique
from huntline.quality import AnyCheck

CHECKS = TypeAdapter(list[AnyCheck])


def parse(*checks: object) -> list[object]:
    return CHECKS.validate_python(list(checks))


def error_of(*checks: object) -> str:
    with pytest.raises(ValidationError) as caught:
        parse(*checks)
    (error,) = caught.value.errors()
    return str(error["msg"]).removeprefix("Value error, ")


def test_every_form_parses_into_its_model() -> None:
    parsed = parse(
        {"rows": {"min": 1}},
        {"not_null": {"column": "name", "mostly": 0.99}},
        {"unique": "id"},
        {"fresh": "2h"},
        {"between": {"column": "pid", "min": 0}},
    )
    assert parsed == [
        Rows(min=1),
        NotNull(column="name", mostly=0.99),
        Unique(column="id"),
        Fresh(within="2h"),
        Between(column="pid", min=0),
    ]


def test_describe_reads_like_the_book() -> None:
    described = [
        check.describe()  # type: ignore[attr-defined]
        for check in parse(
            {"not_null": {"column": "name", "mostly": 0.99}},
            {"in_set": {"column": "x_datasource", "values": ["edr", "siem"]}},
            {"rows": {"min": 1, "max": 10}},
            {"fresh": {"within": "30m"}},
            {"matches": {"column": "name", "regex": "(?i)exe$"}},
        )
    ]
    assert described == [
        "not_null(name, mostly=0.99)",
        "in_set(x_datasource, values=[edr, siem])",
        "rows(min=1, max=10)",
        "fresh(30m)",
        "matches(name, regex=(?i)exe$)",
    ]


def test_unknown_check_suggests_the_closest() -> None:
    assert error_of({"not_nul": {"column": "name"}}) == (
        "unknown check 'not_nul' (did you mean 'not_null'?); known: column_exists, not_null, "
        "between, in_set, unique, rows, matches, fresh"
    )


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"between": {"column": "pid", "min": 5, "max": 1}}, "min 5 is greater than max 1"),
        ({"rows": {"min": 10, "max": 2}}, "min 10 is greater than max 2"),
        ({"rows": {}}, "give min:, max: or both"),
        ({"rows": 3}, "rows takes a mapping of its fields"),
        ({"fresh": "soon"}, "expected a duration such as 30m, 24h or 7d, got 'soon'"),
        (
            {"matches": {"column": "x", "regex": "("}},
            "regex '(' is not valid RE2: missing ): ( (huntline runs regexes with RE2 (linear "
            "time): no look-around, no back-references)",
        ),
        (
            {"matches": {"column": "x", "regex": "(a)\\1"}},
            "regex '(a)\\\\1' is not valid RE2: invalid escape sequence: \\1",
        ),
        ({"a": 1, "b": 2}, "a check is one key naming it"),
    ],
)
def test_impossible_checks_are_rejected(check: object, message: str) -> None:
    assert error_of(check).startswith(message)


def test_mostly_is_a_share() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        parse({"not_null": {"column": "name", "mostly": 95}})


def test_unknown_field_of_a_check_is_an_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse({"not_null": {"colum": "name"}})
    locations = {tuple(error["loc"]) for error in caught.value.errors()}
    assert (0, "not_null", "colum") in locations
