"""The checks of a quality gate, in the compact form a hunt book writes them.

A gate lists checks, each a one-key mapping whose key names the check::

    checks:
      - rows: {min: 1}
      - not_null: {column: name, mostly: 0.99}
      - in_set: {column: x_datasource, values: [edr]}
      - unique: id                    # a scalar is the check's main field
      - fresh: 2h                     # the newest last_observed is at most 2h older than the window

Each check is a typed model here, validated when the book loads (so ``huntline validate``
catches an unknown check name with a "did you mean", or a ``between`` whose min exceeds its max),
and maps onto one great_expectations expectation in :mod:`huntline.quality.expectations`. This
module imports no great_expectations: loading a book must stay cheap.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from huntline.window import parse_duration

Scalar = str | int | float | bool


class Check(BaseModel):
    """One check of a gate. ``main`` is the field a scalar shorthand (``unique: id``) fills."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    main: ClassVar[str | None] = "column"

    check: str = Field(exclude=True)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the check reads; a missing one fails the check before GX runs."""
        column = getattr(self, "column", None)
        return (column,) if isinstance(column, str) else ()

    def describe(self) -> str:
        """The check as the book wrote it, in one line: ``not_null(name, mostly=0.99)``."""
        values = self.model_dump(exclude_defaults=True)
        parts = [str(values.pop(self.main))] if self.main in values else []
        parts += [f"{key}={_short(value)}" for key, value in values.items()]
        return f"{self.check}({', '.join(parts)})"


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _check_bounds(low: float | None, high: float | None) -> None:
    """A range needs a bound, and cannot be empty (what ``huntline validate`` says of it)."""
    if low is None and high is None:
        raise ValueError("give min:, max: or both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"min {low:g} is greater than max {high:g}")


class _Mostly(Check):
    mostly: float = Field(
        default=1.0, gt=0, le=1, description="Share of rows that must pass, e.g. 0.95"
    )


class ColumnExists(Check):
    """The table has ``column``."""

    check: Literal["column_exists"] = Field(default="column_exists", exclude=True)
    column: str = Field(min_length=1)


class NotNull(_Mostly):
    """``column`` has a value in at least ``mostly`` of the rows."""

    check: Literal["not_null"] = Field(default="not_null", exclude=True)
    column: str = Field(min_length=1)


class Between(_Mostly):
    """``column``'s values lie within ``[min, max]`` (either bound may be left open)."""

    check: Literal["between"] = Field(default="between", exclude=True)
    column: str = Field(min_length=1)
    min: int | float | None = None
    max: int | float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Between:
        _check_bounds(self.min, self.max)
        return self


class InSet(_Mostly):
    """``column``'s values are all among ``values`` (nulls are not counted)."""

    check: Literal["in_set"] = Field(default="in_set", exclude=True)
    column: str = Field(min_length=1)
    values: list[Scalar] = Field(min_length=1)


class Unique(Check):
    """No two rows share a value of ``column``."""

    check: Literal["unique"] = Field(default="unique", exclude=True)
    column: str = Field(min_length=1)


class Rows(Check):
    """The table has between ``min`` and ``max`` rows."""

    main: ClassVar[str | None] = None
    check: Literal["rows"] = Field(default="rows", exclude=True)
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Rows:
        _check_bounds(self.min, self.max)
        return self


class Matches(_Mostly):
    """``column``'s values match ``regex`` (searched, not anchored; nulls are not counted)."""

    check: Literal["matches"] = Field(default="matches", exclude=True)
    column: str = Field(min_length=1)
    regex: str = Field(min_length=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"regex {value!r} does not compile: {error}") from error
        return value


class Fresh(Check):
    """The newest ``column`` (``last_observed``) is at most ``within`` older than the end of the
    run's window: a source that stopped delivering shows up as stale data, not as no alerts.

    The reference is the window's end rather than the clock, so a replay or a test of old data
    judges freshness the way the original run did."""

    main: ClassVar[str | None] = "within"
    check: Literal["fresh"] = Field(default="fresh", exclude=True)
    within: str = Field(description="A duration such as 30m, 2h or 1d")
    column: str = Field(default="last_observed", min_length=1)

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def max_age(self) -> timedelta:
        return parse_duration(self.within)


CHECKS: dict[str, type[Check]] = {
    "column_exists": ColumnExists,
    "not_null": NotNull,
    "between": Between,
    "in_set": InSet,
    "unique": Unique,
    "rows": Rows,
    "matches": Matches,
    "fresh": Fresh,
}


def _tagged(value: Any) -> Any:
    """``{not_null: {column: x}}`` (or ``{unique: x}``) → ``{check: not_null, column: x}``."""
    if isinstance(value, Check):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"a check is one key naming it, one of: {', '.join(CHECKS)}")
    ((name, arguments),) = value.items()
    if name not in CHECKS:
        guesses = difflib.get_close_matches(str(name), CHECKS, n=1)
        hint = f" (did you mean {guesses[0]!r}?)" if guesses else ""
        raise ValueError(f"unknown check {name!r}{hint}; known: {', '.join(CHECKS)}")
    model = CHECKS[name]
    if isinstance(arguments, dict):
        return {"check": name, **arguments}
    if arguments is not None and model.main is not None:
        return {"check": name, model.main: arguments}
    raise ValueError(f"{name} takes a mapping of its fields")


AnyCheck = Annotated[
    Annotated[
        ColumnExists | NotNull | Between | InSet | Unique | Rows | Matches | Fresh,
        Field(discriminator="check"),
    ],
    BeforeValidator(_tagged),
]
