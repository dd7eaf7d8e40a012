"""Run a quality gate over a table and decide what its outcome means for the run.

great_expectations is imported here lazily, inside :func:`run_gate`, so only runs whose book
has a gate pay its import cost (measured in the README's quality-gates section).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from huntline.book.gate_checks import Check
from huntline.errors import QualityError
from huntline.quality.result import GateResult, OnFail


def run_gate(
    table: pd.DataFrame,
    checks: Sequence[Check],
    *,
    variable: str,
    step_id: str,
    on_fail: OnFail,
    reference: datetime,
) -> GateResult:
    """Check ``table`` (the rows of ``variable``) with great_expectations.

    Args:
        table: The variable's rows.
        checks: The gate's checks, in the book's order.
        variable: The variable's name, for messages.
        step_id: The gate's step id (``02_expect``), for messages and artifacts.
        on_fail: ``fail`` stops the run on a failed check; ``warn`` only reports it.
        reference: The end of the run's window: ``fresh`` measures age from it.
    """
    started = time.perf_counter()
    from huntline.quality.expectations import validate

    results = validate(table, checks, reference)
    return GateResult(
        variable=variable,
        step_id=step_id,
        on_fail=on_fail,
        rows=len(table),
        checks=results,
        seconds=time.perf_counter() - started,
    )


def enforce(result: GateResult) -> None:
    """Raise :class:`QualityError` if a ``fail`` gate failed; a ``warn`` gate never raises."""
    if result.status == "failed":
        raise QualityError(
            result.summary(),
            hint="the data this hunt runs on is not what the book expects: check the data "
            "source (a renamed field, a missing host, an empty window) before trusting its alerts",
            variable=result.variable,
            step=result.step_id,
            failed=[check.check for check in result.failures],
        )
