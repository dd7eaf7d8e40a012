"""How a ``filter: VAR`` step runs (its model is :mod:`huntline.book.steps.filter`): read the
table of ``on``, keep the rows that match, write them as the new variable.

A STIX ``where:`` needs the table's entity type: the ``type`` column says it (every fetched
table has one); a table without one (an analytics output that dropped it) is taken to be of the
one type the pattern compares, and a pattern naming several types is then refused. When a book
loads, the pattern must be locally evaluable and the condition must parse (:func:`_checks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from huntline.book.steps.base import Location
from huntline.book.steps.filter import FILTER, FilterStep
from huntline.errors import HuntlineError, PatternError
from huntline.expressions import evaluate, parse_condition
from huntline.lazy import LazyModule
from huntline.steps.base import Report, StepAction
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import TableRef, open_store
from huntline.window import Window

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:  # compiling a book without a filter step (huntline compile) needs no pyarrow or pandas
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")

__all__ = ["FILTER_ACTION", "entity_of", "filter_rows", "run_filter"]


def _checks(step: FilterStep) -> list[tuple[Location, str]]:
    """The pattern can be evaluated locally, or the condition parses."""
    from huntline.patterns import compile_pattern

    try:
        if step.where is not None:
            compile_pattern(step.where)
        elif step.when is not None:
            parse_condition(step.when)
    except HuntlineError as error:
        return [(("where",) if step.where is not None else ("when",), str(error))]
    return []


def _explain(step: FilterStep, window: Window | None) -> str:
    test = f"WHERE {step.where}" if step.where is not None else f"WHEN {step.when}"
    return f"rows of {step.on} {test}"


def _run(
    context: RunContext,
    step_id: str,
    step: FilterStep,
    inputs: Mapping[str, TableRef],
    window: Window | None,
) -> StepOutput:
    return run_filter(
        context, step_id, step.filter, inputs[step.on], where=step.where, when=step.when
    )


def _report(step_id: str, step: FilterStep, output: StepOutput) -> Report:
    kept = output.tables[step.filter].rows
    return Report(info=(f"{step.filter}: {kept} row(s) of {step.on} kept",))


def run_filter(
    context: RunContext,
    step_id: str,
    variable: str,
    ref: TableRef,
    *,
    where: str | None = None,
    when: str | None = None,
) -> StepOutput:
    """Write the rows of ``ref`` that ``where`` or ``when`` keeps as ``variable``.

    Raises:
        PatternError: The pattern names no property of the table's entity type.
        ConditionError: The condition reads a column the table does not have.
    """
    from huntline.tables import read_table, write_table

    store = open_store(context.storage)
    frame = read_table(store, ref)
    kept = filter_rows(pa.Table.from_pandas(frame, preserve_index=False), where=where, when=when)
    key = context.key(step_id, f"{variable}.parquet")
    return StepOutput(step_id=step_id, tables={variable: write_table(store, key, kept)})


def filter_rows(table: pa.Table, *, where: str | None = None, when: str | None = None) -> pa.Table:
    """The rows of ``table`` that match the STIX pattern ``where`` or the condition ``when``."""
    from huntline.patterns import compile_pattern

    if where is not None:
        pattern = compile_pattern(where)
        mask = pattern.table_mask(table, entity_of(table, sorted(pattern.types), where))
    elif when is not None:
        series = evaluate(parse_condition(when), table.to_pandas())
        mask = pa.array(series.to_numpy(dtype=bool))
    else:
        raise ValueError("filter_rows needs where or when")
    return table.filter(mask)


def entity_of(table: pa.Table, named: list[str], pattern: str) -> str:
    """The entity type of ``table``'s rows; see the module docstring."""
    if "type" in table.column_names and table.num_rows:
        kinds = pc.unique(table.column("type").drop_null()).to_pylist()
        if len(kinds) == 1:
            return str(kinds[0])
    if len(named) == 1:
        return named[0]
    raise PatternError(
        f"STIX pattern {pattern!r} compares {', '.join(named)} properties, and the table has "
        "no type column to say which of them its rows are",
        pattern=pattern,
    )


FILTER_ACTION = StepAction(kind=FILTER, explain=_explain, run=_run, report=_report, checks=_checks)
