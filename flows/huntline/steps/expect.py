"""How an ``expect: VAR`` step runs: a quality gate over the variable's rows (its model, and
what a gate is for, are :mod:`huntline.book.steps.expect`).

The gate's result is stored beside the step (``gate.json``, ``gate.md``), shown as a markdown
artifact and recorded in the manifest; a failed ``fail`` gate is raised once it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from huntline.book.steps.expect import EXPECT, ExpectStep
from huntline.steps.base import Markdown, Report, StepAction
from huntline.window import Window

if TYPE_CHECKING:
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import TableRef


def _explain(step: ExpectStep, window: Window | None) -> str:
    checks = ", ".join(check.describe() for check in step.checks)
    return f"great_expectations ON {step.expect}: {checks} (on_fail {step.on_fail})"


def _run(
    context: RunContext,
    step_id: str,
    step: ExpectStep,
    inputs: Mapping[str, TableRef],
    window: Window | None,
) -> StepOutput:
    from huntline.quality.gate import run_gate
    from huntline.steps.context import StepOutput
    from huntline.storage import open_store
    from huntline.tables import read_table

    store = open_store(context.storage)
    ref = inputs[step.expect]
    result = run_gate(
        read_table(store, ref),
        step.checks,
        variable=step.expect,
        step_id=step_id,
        on_fail=step.on_fail,
        reference=window.stop if window is not None else datetime.now(UTC),
    )
    store.put_bytes(context.key(step_id, "gate.json"), result.model_dump_json(indent=2).encode())
    store.put_bytes(context.key(step_id, "gate.md"), result.markdown().encode())
    warnings = [result.summary()] if result.status == "warned" else []
    return StepOutput(
        step_id=step_id,
        tables={step.expect: ref},
        gate=result,
        warnings=warnings,
    )


def _report(step_id: str, step: ExpectStep, output: StepOutput) -> Report:
    from huntline.errors import QualityError
    from huntline.quality.gate import enforce

    result = output.gate
    assert result is not None, "an expect step's output carries its gate"
    markdown = Markdown(
        key=f"{step_id}-gate-{step.expect}",
        text=result.markdown(),
        description=result.summary(),
    )
    info = (result.summary(),) if result.status != "warned" else ()
    try:
        enforce(result)
    except QualityError as error:  # shown first, then raised by the task
        return Report(info=info, markdown=(markdown,), error=error)
    return Report(info=info, markdown=(markdown,))


EXPECT_ACTION = StepAction(kind=EXPECT, explain=_explain, run=_run, report=_report)
