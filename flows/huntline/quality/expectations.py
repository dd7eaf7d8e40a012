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
from great_expectations.expectations.expectation import Expectation

from huntline.book.gate_checks import Check, ColumnExists, columns_of
from huntline.quality.result import CheckResult

EXAMPLES = 5


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
        expectation = check.expectation(reference)
        missing = [column for column in check.columns if column not in frame.columns]
        if missing and not isinstance(check, ColumnExists):
            results.append(_missing_column(check, expectation, missing[0], frame))
            continue
        outcome = batch.validate(expectation)
        details = _details(dict(outcome.result))
        error = _error(outcome.exception_info or {})
        observed = (
            f"could not be checked: {error}" if error else check.observed(details, frame, reference)
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
    """The table as every check needs it (a ``fresh`` check compares instants, not text)."""
    for check in checks:
        table = check.prepared(table)
    return table


def _missing_column(
    check: Check, expectation: Expectation, column: str, frame: pd.DataFrame
) -> CheckResult:
    return CheckResult(
        check=check.describe(),
        expectation=expectation.expectation_type,
        passed=False,
        observed=f"column {column!r} is missing ({columns_of(frame)})",
    )


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
