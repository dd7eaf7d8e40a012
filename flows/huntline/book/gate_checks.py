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
and says which great_expectations expectation it runs as (:meth:`Check.expectation`, which
imports GX only when a gate runs: loading a book must stay cheap). So a new check is one model
with its ``expectation`` plus one registration: ``CHECKS.add(...)`` here, or, from another
package, an entry point in the group ``huntline.quality_checks`` naming the model class
(:mod:`huntline.registry`). :mod:`huntline.quality.expectations` runs whatever it is given.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from huntline.book.fields import DurationText
from huntline.linear_regex import HINT, regex_problem
from huntline.registry import Registry
from huntline.window import parse_duration

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

Scalar = str | int | float | bool
#: What a failed gate does: ``fail`` stops the run before any alert, ``warn`` only reports.
OnFail = Literal["fail", "warn"]


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

    @abstractmethod
    def expectation(self, reference: datetime) -> Expectation:
        """The great_expectations expectation the check runs as; ``reference`` is the end of
        the run's window. Import GX inside: this runs only when a gate runs."""

    #: How a failing value is described in the generic ``observed`` text.
    unexpected_as: ClassVar[str] = "unexpected"

    def prepared(self, frame: Any) -> Any:
        """The table (a DataFrame) as the check's expectation needs it; unchanged by default."""
        return frame

    def observed(self, details: dict[str, Any], frame: Any, reference: datetime) -> str:
        """What was seen, in words a hunter reads at a glance, from GX's ``details``."""
        unexpected = int(details.get("unexpected_count") or 0)
        total = int(details.get("element_count") or len(frame))
        counted = total - int(details.get("missing_count") or 0)
        text = f"{unexpected} of {counted} non-null values {self.unexpected_as}"
        examples = details.get("unexpected_examples")
        if unexpected and examples:
            text += ", e.g. " + ", ".join(_example(value) for value in examples)
        return text

    def describe(self) -> str:
        """The check as the book wrote it, in one line: ``not_null(name, mostly=0.99)``."""
        values = self.model_dump(exclude_defaults=True)
        parts = [str(values.pop(self.main))] if self.main in values else []
        parts += [f"{key}={_short(value)}" for key, value in values.items()]
        return f"{self.check}({', '.join(parts)})"


def columns_of(frame: Any) -> str:
    """The columns of a DataFrame, for a message about a missing one."""
    names = [str(column) for column in frame.columns]
    shown = ", ".join(names[:12]) + (f", … ({len(names)} in all)" if len(names) > 12 else "")
    return f"columns: {shown}" if names else "the table has no columns"


def _example(value: Any, limit: int = 80) -> str:
    """An unexpected value as shown in a gate's result: telemetry can be megabytes long."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


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

    def observed(self, details: dict[str, Any], frame: Any, reference: datetime) -> str:
        return "present" if self.column in frame.columns else f"missing ({columns_of(frame)})"

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_column_to_exist import (
            ExpectColumnToExist,
        )

        return ExpectColumnToExist(column=self.column)


class NotNull(_Mostly):
    """``column`` has a value in at least ``mostly`` of the rows."""

    check: Literal["not_null"] = Field(default="not_null", exclude=True)
    column: str = Field(min_length=1)

    def observed(self, details: dict[str, Any], frame: Any, reference: datetime) -> str:
        unexpected = int(details.get("unexpected_count") or 0)
        total = int(details.get("element_count") or len(frame))
        share = 100.0 * unexpected / total if total else 0.0
        return f"{unexpected} of {total} values null ({share:.1f}%)"

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
            ExpectColumnValuesToNotBeNull,
        )

        return ExpectColumnValuesToNotBeNull(column=self.column, mostly=self.mostly)


class Between(_Mostly):
    """``column``'s values lie within ``[min, max]`` (either bound may be left open)."""

    unexpected_as: ClassVar[str] = "outside the range"

    check: Literal["between"] = Field(default="between", exclude=True)
    column: str = Field(min_length=1)
    min: int | float | None = None
    max: int | float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Between:
        _check_bounds(self.min, self.max)
        return self

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_column_values_to_be_between import (
            ExpectColumnValuesToBeBetween,
        )

        return ExpectColumnValuesToBeBetween(
            column=self.column, min_value=self.min, max_value=self.max, mostly=self.mostly
        )


class InSet(_Mostly):
    """``column``'s values are all among ``values`` (nulls are not counted)."""

    unexpected_as: ClassVar[str] = "not in the set"

    check: Literal["in_set"] = Field(default="in_set", exclude=True)
    column: str = Field(min_length=1)
    values: list[Scalar] = Field(min_length=1)

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_column_values_to_be_in_set import (
            ExpectColumnValuesToBeInSet,
        )

        return ExpectColumnValuesToBeInSet(
            column=self.column, value_set=list(self.values), mostly=self.mostly
        )


class Unique(Check):
    """No two rows share a value of ``column``."""

    unexpected_as: ClassVar[str] = "duplicated"

    check: Literal["unique"] = Field(default="unique", exclude=True)
    column: str = Field(min_length=1)

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_column_values_to_be_unique import (
            ExpectColumnValuesToBeUnique,
        )

        return ExpectColumnValuesToBeUnique(column=self.column)


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

    def observed(self, details: dict[str, Any], frame: Any, reference: datetime) -> str:
        return f"{details.get('observed_value', len(frame))} rows"

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_table_row_count_to_be_between import (
            ExpectTableRowCountToBeBetween,
        )

        return ExpectTableRowCountToBeBetween(min_value=self.min, max_value=self.max)


class Matches(_Mostly):
    """``column``'s values match ``regex`` (searched, not anchored; nulls are not counted)."""

    unexpected_as: ClassVar[str] = "not matching"

    check: Literal["matches"] = Field(default="matches", exclude=True)
    column: str = Field(min_length=1)
    regex: str = Field(min_length=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        # great_expectations runs it through pandas' str.contains on Arrow strings, which is
        # RE2 (linear time) for every regex RE2 accepts and Python's backtracking re otherwise.
        problem = regex_problem(value)
        if problem:
            raise ValueError(f"{problem} ({HINT})")
        return value

    def expectation(self, reference: datetime) -> Expectation:
        from great_expectations.expectations.core.expect_column_values_to_match_regex import (
            ExpectColumnValuesToMatchRegex,
        )

        return ExpectColumnValuesToMatchRegex(
            column=self.column, regex=self.regex, mostly=self.mostly
        )


class Fresh(Check):
    """The newest ``column`` (``last_observed``) is at most ``within`` older than the end of the
    run's window: a source that stopped delivering shows up as stale data, not as no alerts.

    The reference is the window's end rather than the clock, so a replay or a test of old data
    judges freshness the way the original run did."""

    main: ClassVar[str | None] = "within"
    check: Literal["fresh"] = Field(default="fresh", exclude=True)
    within: DurationText = Field(description="A duration such as 30m, 2h or 1d")
    column: str = Field(default="last_observed", min_length=1)

    @property
    def max_age(self) -> timedelta:
        return parse_duration(self.within)

    def prepared(self, frame: Any) -> Any:
        """Timestamps are stored as ISO text; compare them as instants."""
        import pandas as pd

        if self.column not in frame.columns:
            return frame
        instants = pd.to_datetime(frame[self.column], utc=True, errors="coerce", format="ISO8601")
        return frame.assign(**{self.column: instants})

    def observed(self, details: dict[str, Any], frame: Any, reference: datetime) -> str:
        import pandas as pd

        newest = frame[self.column].max() if len(frame) else None
        if newest is None or pd.isna(newest):
            return f"no {self.column} values"
        age = (pd.Timestamp(reference) - newest).to_pytimedelta()
        return (
            f"newest {self.column} is {newest.isoformat()}, {age} before the window's end "
            f"{reference.isoformat()} (allowed: {self.within})"
        )

    def expectation(self, reference: datetime) -> Expectation:
        import pandas as pd
        from great_expectations.expectations.core.expect_column_max_to_be_between import (
            ExpectColumnMaxToBeBetween,
        )

        oldest = pd.Timestamp(reference - self.max_age)
        return ExpectColumnMaxToBeBetween(column=self.column, min_value=oldest)


def _is_check(item: object) -> bool:
    return isinstance(item, type) and issubclass(item, Check)


CHECKS: Registry[type[Check]] = Registry("check", "huntline.quality_checks", accepts=_is_check)
"""Every check model, by the name a book writes."""
BUILT_IN: tuple[tuple[str, type[Check]], ...] = (
    ("column_exists", ColumnExists),
    ("not_null", NotNull),
    ("between", Between),
    ("in_set", InSet),
    ("unique", Unique),
    ("rows", Rows),
    ("matches", Matches),
    ("fresh", Fresh),
)
for _name, _model in BUILT_IN:
    CHECKS.add(_name, _model)


def _validated(value: Any) -> Check:
    """``{not_null: {column: x}}`` (or ``{unique: x}``) -> the registered model of ``not_null``;
    a problem inside it is reported at ``[i].not_null.FIELD``, where the book wrote it."""
    if isinstance(value, Check):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"a check is one key naming it, one of: {', '.join(CHECKS.names())}")
    ((name, arguments),) = value.items()
    model = CHECKS.find(str(name))
    if model is None:
        raise ValueError(CHECKS.unknown(str(name)))
    if isinstance(arguments, dict):
        fields = dict(arguments)
    elif arguments is not None and model.main is not None:
        fields = {model.main: arguments}
    else:
        raise ValueError(f"{name} takes a mapping of its fields")
    try:
        return model.model_validate({**fields, "check": name})
    except ValidationError as error:
        located = [{**problem, "loc": (name, *problem["loc"])} for problem in error.errors()]
        raise ValidationError.from_exception_data(error.title, located) from None  # type: ignore[arg-type]


AnyCheck = Annotated[SerializeAsAny[Check], PlainValidator(_validated)]
