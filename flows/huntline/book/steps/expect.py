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
runs, never when a book loads; how a gate runs is :mod:`huntline.steps.expect`.
"""

from __future__ import annotations

from pydantic import Field

from huntline.book.fields import VARIABLE_NAME
from huntline.book.gate_checks import AnyCheck, OnFail
from huntline.book.steps.base import StepKind, StepModel


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


EXPECT = StepKind(
    keyword="expect",
    model=ExpectStep,
    reads_key="expect",
    windowed=lambda step: None,  # the book's (or the run's) window: `fresh` measures from its end
)
