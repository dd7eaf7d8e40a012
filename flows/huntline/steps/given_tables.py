"""Running a book's plan with the ``get`` tables given instead of fetched: what replay (stored
fetches) and packs (one shared fetch) both do. Every other step runs as in a real run, in plan
order, by plain calls (no Prefect)."""

from __future__ import annotations

from collections.abc import Callable

from huntline.book import HuntBook
from huntline.book.steps import GetStep
from huntline.compile import Plan
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import TableRef
from huntline.window import Window

__all__ = ["alert_table", "run_with_tables"]


def run_with_tables(
    plan: Plan,
    context: RunContext,
    windows: dict[str, Window],
    table_for: Callable[[str, GetStep], TableRef],
) -> dict[str, StepOutput]:
    """Each step's output, in plan order; ``table_for(step_id, step)`` gives a get step's
    table (it may raise to stop the run). A step whose report carries an error (a failed
    ``fail`` quality gate) raises it, as its task would."""
    outputs: dict[str, StepOutput] = {}
    for planned in plan.steps:
        step = planned.step
        if isinstance(step, GetStep):
            table = table_for(planned.id, step)
            outputs[planned.id] = StepOutput(step_id=planned.id, tables={step.get: table})
            continue
        inputs = {var: outputs[sid].tables[var] for var, sid in planned.inputs.items()}
        output = planned.action.run(context, planned.id, step, inputs, windows.get(planned.id))
        failure = planned.action.report(planned.id, step, output).error
        if failure is not None:  # a failed `fail` gate: raised once shown, as the task does
            raise failure
        outputs[planned.id] = output
    return outputs


def alert_table(plan: Plan, outputs: dict[str, StepOutput], book: HuntBook) -> TableRef:
    """The table the alert section reads: the last step that wrote its variable."""
    assert book.alert is not None
    variable = book.alert.on
    writer = [p.id for p in plan.steps if variable in p.step.writes][-1]
    return outputs[writer].tables[variable]
