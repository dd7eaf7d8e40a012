"""``expect: VAR``: a quality gate, great_expectations checks on a variable's rows.

A hunt that silently stops seeing data looks exactly like a hunt that finds nothing. A gate
checks the data the hunt runs on (rows, columns, nulls, value sets, freshness; see
:mod:`huntline.book.gate_checks`) anywhere after the step that sets the variable::

    - expect: procs
      checks:
        - rows: {min: 1}
        - not_null: {column: name, mostly: 0.99}
      on_fail: fail                 # or warn

The gate passes the variable through unchanged, so the steps and the alert after it wait for
it: a failed ``fail`` gate stops the run before any alert is sent, with one error naming the
variable, the expectation and what was observed, while the tables fetched so far stay in
storage. Each gate's result is stored beside the step (``gate.json``, ``gate.md``), shown as a
markdown artifact and recorded in the manifest. great_expectations is imported only when a gate
runs, never when a book loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import Field

from huntline.book.fields import VARIABLE_NAME
from huntline.book.gate_checks import AnyCheck
from huntline.book.steps.base import Markdown, Report, StepKind, StepModel
from huntline.quality.result import GateResult, OnFail
from huntline.window import Window

if TYPE_CHECKING:
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import TableRef


class ExpectStep(StepModel):
    """``expect: VAR``: check a variable's rows with great_expectations."""

    expect: str = Field(pattern=VARIABLE_NAME, description="The variable whose rows are checked")
    checks: list[AnyCheck] = Field(
        min_length=1, examples=[[{"rows": {"min": 1}}, {"not_null": {"column": "name"}}]]
    )
    on_fail: OnFail = Field(
        default="fail", description="fail: stop the run before any alert; warn: only report"
    )

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.expect,)

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.expect,)  # passed through unchanged: later steps wait for the gate


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
        gate=result.model_dump(mode="json"),
        warnings=warnings,
    )


def _report(step_id: str, step: ExpectStep, output: StepOutput) -> Report:
    from huntline.errors import QualityError
    from huntline.quality.gate import enforce

    result = GateResult.model_validate(output.gate)
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


EXPECT = StepKind(
    keyword="expect",
    model=ExpectStep,
    explain=_explain,
    run=_run,
    report=_report,
    reads_key="expect",
    windowed=lambda step: None,  # the book's (or the run's) window: `fresh` measures from its end
)
