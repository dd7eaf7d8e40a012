"""Run a gate's checks as great_expectations 1.x expectations over one table.

Importing great_expectations costs about 3-6 s and 290 MB here, so only this module imports it,
and only :func:`huntline.quality.gate.run_gate` imports this module: a run without a gate never
pays for GX.

Each check becomes one expectation, validated on its own against the same batch, so results
come back in the book's order (a suite would reorder them). A check on a column the table does
not have fails without asking GX (whose answer would be a metric-resolution traceback).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.core.expect_column_max_to_be_between import (
    ExpectColumnMaxToBeBetween,
)
from great_expectations.expectations.core.expect_column_to_exist import ExpectColumnToExist
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_be_in_set import (
    ExpectColumnValuesToBeInSet,
)
from great_expectations.expectations.core.expect_column_values_to_be_unique import (
    ExpectColumnValuesToBeUnique,
)
from great_expectations.expectations.core.expect_column_values_to_match_regex import (
    ExpectColumnValuesToMatchRegex,
)
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)
from great_expectations.expectations.core.expect_table_row_count_to_be_between import (
    ExpectTableRowCountToBeBetween,
)
from great_expectations.expectations.expectation import Expectation

from huntline.book.gate_checks import (
    Between,
    Check,
    ColumnExists,
    Fresh,
    InSet,
    Matches,
    NotNull,
    Rows,
    Unique,
)
from huntline.quality.result import CheckResult

EXAMPLES = 5


def expectation_for(check: Check, reference: datetime) -> Expectation:
    """The GX expectation ``check`` runs as; ``reference`` is the end of the run's window."""
    if isinstance(check, ColumnExists):
        return ExpectColumnToExist(column=check.column)
    if isinstance(check, NotNull):
        return ExpectColumnValuesToNotBeNull(column=check.column, mostly=check.mostly)
    if isinstance(check, Between):
        return ExpectColumnValuesToBeBetween(
            column=check.column, min_value=check.min, max_value=check.max, mostly=check.mostly
        )
    if isinstance(check, InSet):
        return ExpectColumnValuesToBeInSet(
            column=check.column, value_set=list(check.values), mostly=check.mostly
        )
    if isinstance(check, Unique):
        return ExpectColumnValuesToBeUnique(column=check.column)
    if isinstance(check, Rows):
        return ExpectTableRowCountToBeBetween(min_value=check.min, max_value=check.max)
    if isinstance(check, Matches):
        return ExpectColumnValuesToMatchRegex(
            column=check.column, regex=check.regex, mostly=check.mostly
        )
    if isinstance(check, Fresh):
        oldest = pd.Timestamp(reference - check.max_age)
        return ExpectColumnMaxToBeBetween(column=check.column, min_value=oldest)
    raise TypeError(f"no expectation for {type(check).__name__}")  # a new check without a mapping


def validate(
    table: pd.DataFrame, checks: Sequence[Check], reference: datetime
) -> list[CheckResult]:
    """Run every check on ``table`` and say, for each, what was observed."""
    frame = _prepared(table, checks)
    context = gx.get_context(
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
        mode="ephemeral",
    )
    batch = (
        context.data_sources.add_pandas("huntline")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    results = []
    for check in checks:
        expectation = expectation_for(check, reference)
        missing = [column for column in check.columns if column not in frame.columns]
        if missing and not isinstance(check, ColumnExists):
            results.append(_missing_column(check, expectation, missing[0], frame))
            continue
        outcome = batch.validate(expectation)
        details = _details(dict(outcome.result))
        error = _error(outcome.exception_info or {})
        observed = (
            f"could not be checked: {error}"
            if error
            else _observed(check, details, frame, reference)
        )
        results.append(
            CheckResult(
                check=check.describe(),
                expectation=expectation.expectation_type,
                passed=bool(outcome.success) and not error,
                observed=observed,
                details=details,
            )
        )
    return results


def _error(info: dict[str, Any]) -> str | None:
    """GX's exception message, from its flat form or its form keyed by metric."""
    if "raised_exception" in info:
        return str(info["exception_message"]) if info["raised_exception"] else None
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _prepared(table: pd.DataFrame, checks: Sequence[Check]) -> pd.DataFrame:
    """Timestamps are stored as ISO text; a ``fresh`` check compares them as instants."""
    converted = {
        check.column: pd.to_datetime(
            table[check.column], utc=True, errors="coerce", format="ISO8601"
        )
        for check in checks
        if isinstance(check, Fresh) and check.column in table.columns
    }
    return table.assign(**converted) if converted else table


def _missing_column(
    check: Check, expectation: Expectation, column: str, frame: pd.DataFrame
) -> CheckResult:
    return CheckResult(
        check=check.describe(),
        expectation=expectation.expectation_type,
        passed=False,
        observed=f"column {column!r} is missing ({_columns(frame)})",
    )


def _columns(frame: pd.DataFrame) -> str:
    names = [str(column) for column in frame.columns]
    shown = ", ".join(names[:12]) + (f", … ({len(names)} in all)" if len(names) > 12 else "")
    return f"columns: {shown}" if names else "the table has no columns"


def _details(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-safe, bounded part of a GX result."""
    keep = ("observed_value", "element_count", "unexpected_count", "unexpected_percent")
    details = {key: _plain(result[key]) for key in keep if key in result}
    if "missing_count" in result:
        details["missing_count"] = _plain(result["missing_count"])
    if result.get("partial_unexpected_list"):
        distinct = dict.fromkeys(_plain(value) for value in result["partial_unexpected_list"])
        details["unexpected_examples"] = list(distinct)[:EXAMPLES]
    return details


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if value != value else value  # NaN is not JSON
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def _observed(
    check: Check, details: dict[str, Any], frame: pd.DataFrame, reference: datetime
) -> str:
    """What was seen, in words a hunter reads at a glance."""
    if isinstance(check, Rows):
        return f"{details.get('observed_value', len(frame))} rows"
    if isinstance(check, ColumnExists):
        present = check.column in frame.columns
        return "present" if present else f"missing ({_columns(frame)})"
    if isinstance(check, Fresh):
        newest = frame[check.column].max() if len(frame) else None
        if newest is None or pd.isna(newest):
            return f"no {check.column} values"
        age = (pd.Timestamp(reference) - newest).to_pytimedelta()
        return (
            f"newest {check.column} is {newest.isoformat()}, {age} before the window's end "
            f"{reference.isoformat()} (allowed: {check.within})"
        )
    unexpected = int(details.get("unexpected_count") or 0)
    total = int(details.get("element_count") or len(frame))
    if isinstance(check, NotNull):
        share = 100.0 * unexpected / total if total else 0.0
        return f"{unexpected} of {total} values null ({share:.1f}%)"
    counted = total - int(details.get("missing_count") or 0)
    what = {
        Between: "outside the range",
        InSet: "not in the set",
        Matches: "not matching",
        Unique: "duplicated",
    }.get(type(check), "unexpected")
    text = f"{unexpected} of {counted} non-null values {what}"
    examples = details.get("unexpected_examples")
    if unexpected and examples:
        text += ", e.g. " + ", ".join(repr(value) for value in examples)
    return text
