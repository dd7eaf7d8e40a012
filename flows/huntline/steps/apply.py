"""``apply: NAME``: run an analytics over variables (the Kestrel analytics contract).

How an ``apply`` step runs (its model is :mod:`huntline.book.steps.apply`). The reference's
scheme picks the runner (:mod:`huntline.analytics.runners`), checked when the
book loads. The inputs stay in storage whatever happens; the analytics' outputs are merged back
into each variable by ``id``. The runners' machinery is imported when a step runs, not when a
book loads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from huntline.analytics.contract import REFERENCE_HINT, param_value, reference_problem
from huntline.analytics.runners import DOCKER, runner_for, scheme_of, scheme_problem
from huntline.book.steps.apply import APPLY, ApplyStep
from huntline.book.steps.base import Location
from huntline.steps.base import Link, Report, StepAction
from huntline.window import Window

if TYPE_CHECKING:
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import TableRef


def _runner_checks(step: ApplyStep) -> list[tuple[Location, str]]:
    """A runner takes the reference (its scheme is registered), and an image reference is one
    the engine can be asked for; a typo (``pyhton://``) is a located error when the book loads,
    not a failure after the fetch."""
    problem = scheme_problem(step.apply)
    if problem is None and scheme_of(step.apply) == DOCKER.scheme:
        problem = reference_problem(step.apply)
        problem = f"{problem}; {REFERENCE_HINT}" if problem else None
    return [(("apply",), problem)] if problem else []


def _explain(step: ApplyStep, window: Window | None) -> str:
    params = ", ".join(f"{key}={param_value(value)}" for key, value in step.with_.items())
    detail = f"{runner_for(step.apply).explain(step.apply)} ON {', '.join(step.on)}"
    detail += f" WITH {params}" if params else ""
    return detail + f" (timeout {step.timeout}, network {'on' if step.network else 'off'})"


def _run(
    context: RunContext,
    step_id: str,
    step: ApplyStep,
    inputs: Mapping[str, TableRef],
    window: Window | None,
) -> StepOutput:
    return apply_step(context, step_id, step, inputs)


def apply_step(
    context: RunContext, step_id: str, step: ApplyStep, inputs: Mapping[str, TableRef]
) -> StepOutput:
    """Run one analytics over its input variables and store the merged variables.

    The inputs stay in storage whatever happens. On failure the container's logs are stored
    beside the step as ``container.log`` and named in the error.
    """
    import pandas as pd

    from huntline.analytics.docker_runner import ContainerLimits
    from huntline.analytics.merge import merge_output_file
    from huntline.analytics.reaper import LABEL_FLOW_RUN
    from huntline.errors import AnalyticsError
    from huntline.scratch import process_dir
    from huntline.steps.context import StepOutput
    from huntline.storage import key_of, open_store
    from huntline.tables import write_table

    store = open_store(context.storage)
    runner = runner_for(step.apply)
    image = runner.target(step.apply)
    if all(inputs[name].rows == 0 for name in step.on):
        # Nothing to analyse: the variables stay as they are, and no container runs on empty
        # tables that most analytics would reject for their missing columns.
        return StepOutput(
            step_id=step_id, tables={name: inputs[name] for name in step.on}, image=image
        )
    with tempfile.TemporaryDirectory(prefix="apply-", dir=process_dir()) as scratch:
        workdir = Path(scratch)
        # The stored objects go to the runner as they are (it lays them out as the contract
        # wants); the frames are read from the same files for the merge afterwards.
        files = [workdir / f"in-{index}.parquet" for index in range(len(step.on))]
        for name, path in zip(step.on, files, strict=True):
            store.download(key_of(store, inputs[name].uri), path)
        variables = [pd.read_parquet(path) for path in files]
        limits = ContainerLimits(
            timeout=step.timeout_seconds,
            network=step.network,
            labels=((LABEL_FLOW_RUN, context.flow_run_id),),
        )
        try:
            result = runner.run(step.apply, files, step.with_, workdir / "data", limits)
        except AnalyticsError as error:
            logs = str(error.context.get("logs") or "")
            if logs:
                store.put_bytes(context.key(step_id, "container.log"), logs.encode())
                error.context["logs_uri"] = store.uri(context.key(step_id, "container.log"))
            raise
        store.put_bytes(context.key(step_id, "container.log"), result.logs.encode())
        tables: dict[str, TableRef] = {}
        for index, name in enumerate(step.on):
            output = result.outputs.get(index)
            merged = (
                variables[index]
                if output is None
                else merge_output_file(variables[index], output, image=image)
            )
            tables[name] = write_table(store, context.key(step_id, f"{name}.parquet"), merged)
        display_uri = None
        if result.display is not None:
            display_key = context.key(step_id, result.display.name)
            store.put_file(display_key, result.display)
            display_uri = store.uri(display_key)
    return StepOutput(
        step_id=step_id,
        tables=tables,
        display_uri=display_uri,
        image=image,
        image_id=result.image_id,
    )


def _report(step_id: str, step: ApplyStep, output: StepOutput) -> Report:
    warnings: tuple[str, ...] = ()
    if output.image_id is None:
        warnings = (f"{step_id}: every input is empty, so {output.image} did not run",)
    info = tuple(
        f"{step_id}: {name} now has {ref.rows} rows, {len(ref.columns)} columns"
        for name, ref in output.tables.items()
    )
    links: tuple[Link, ...] = ()
    if output.display_uri:
        links = (
            Link(
                key=f"{step_id}-display",
                uri=output.display_uri,
                text=f"display of {output.image}",
            ),
        )
    return Report(info=info, warnings=warnings, links=links)


def _warnings(step_id: str, step: ApplyStep) -> list[str]:
    from huntline.analytics.image_warnings import apply_warnings

    return apply_warnings(step_id, step)


APPLY_ACTION = StepAction(
    kind=APPLY,
    explain=_explain,
    run=_run,
    report=_report,
    checks=_runner_checks,
    warnings=_warnings,
)
