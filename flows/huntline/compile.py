"""Compile a hunt book into a plan: a DAG of steps ordered by the variables they read and write.

Each step depends on the step that last wrote each variable it reads, so independent ``get``
steps run concurrently while an ``apply`` waits for the data it works on. The plan is pure data:
it touches no data source, which is what makes ``huntline compile --explain`` a safe dry run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from huntline.book import Alert, ApplyStep, GetStep, HuntBook, load_book
from huntline.errors import CompileError
from huntline.window import Window


@dataclass(frozen=True)
class PlannedStep:
    """One step of the plan.

    Attributes:
        id: Stable, readable name, also the storage folder of the step's tables (``01_apply``).
        step: The book's step.
        inputs: For each variable read, the id of the step whose table it reads.
    """

    id: str
    step: GetStep | ApplyStep
    inputs: dict[str, str]

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.inputs.values()))

    @property
    def kind(self) -> str:
        return "get" if isinstance(self.step, GetStep) else "apply"


@dataclass(frozen=True)
class Plan:
    """The compiled hunt: its steps in a runnable order, and the alert."""

    book: HuntBook
    steps: tuple[PlannedStep, ...]
    alert: Alert | None
    alert_input: str | None

    @property
    def final_writers(self) -> dict[str, str]:
        """Which step holds the final table of each variable."""
        writers: dict[str, str] = {}
        for planned in self.steps:
            for variable in planned.step.writes:
                writers[variable] = planned.id
        return writers


def compile_book(book: HuntBook) -> Plan:
    """Order the book's steps into a plan; raises :class:`CompileError` on a broken data flow."""
    writers: dict[str, str] = {}
    planned: list[PlannedStep] = []
    for index, step in enumerate(book.steps):
        kind = "get" if isinstance(step, GetStep) else "apply"
        step_id = f"{index:02d}_{kind}"
        inputs: dict[str, str] = {}
        for variable in step.reads:
            if variable not in writers:
                raise CompileError(
                    f"steps[{index}] reads {variable!r}, which no earlier step sets", step=step_id
                )
            inputs[variable] = writers[variable]
        planned.append(PlannedStep(id=step_id, step=step, inputs=inputs))
        for variable in step.writes:
            writers[variable] = step_id
    alert_input = None
    if book.alert is not None:
        if book.alert.on not in writers:
            raise CompileError(f"alert.on reads {book.alert.on!r}, which no step sets")
        alert_input = writers[book.alert.on]
    return Plan(book=book, steps=tuple(planned), alert=book.alert, alert_input=alert_input)


def explain(plan: Plan, windows: dict[str, Window]) -> list[dict[str, str]]:
    """One row per task of the plan: what it does, what it reads, and what it would query or run.

    ``windows`` gives each get step's resolved window.
    """
    from huntline.analytics.contract import image_for, param_value
    from huntline.fetch.pattern import with_window

    rows: list[dict[str, str]] = []
    for planned in plan.steps:
        step = planned.step
        after = ", ".join(planned.depends_on) or "-"
        if isinstance(step, GetStep):
            query = with_window(step.where, windows[planned.id])
            detail = f"{step.entity} FROM {', '.join(step.sources)} WHERE {query}"
            if step.limit:
                detail += f" LIMIT {step.limit}"
            rows.append({"task": planned.id, "after": after, "writes": step.get, "does": detail})
        else:
            params = ", ".join(f"{key}={param_value(value)}" for key, value in step.with_.items())
            detail = f"image {image_for(step.apply)} ON {', '.join(step.on)}"
            detail += f" WITH {params}" if params else ""
            detail += f" (timeout {step.timeout}, network {'on' if step.network else 'off'})"
            rows.append(
                {"task": planned.id, "after": after, "writes": ", ".join(step.on), "does": detail}
            )
    if plan.alert is not None:
        from huntline.alert.rules import describe

        rows.append(
            {
                "task": "alert",
                "after": plan.alert_input or "-",
                "writes": "alerts",
                "does": describe(plan.alert),
            }
        )
    return rows


def resolve_windows(
    plan: Plan, now: datetime, start: datetime | None = None, stop: datetime | None = None
) -> dict[str, Window]:
    """The window of every get step.

    A window given for the run (``start``/``stop``) overrides the book; otherwise a step's own
    ``window:`` wins over the book's default ``window:``, resolved relative to ``now``.
    """
    if (start is None) != (stop is None):
        raise CompileError("give both --start and --stop, or neither")
    run_window = Window(start, stop) if start is not None and stop is not None else None
    windows: dict[str, Window] = {}
    for planned in plan.steps:
        if isinstance(planned.step, GetStep):
            windows[planned.id] = run_window or (planned.step.window or plan.book.window).resolve(
                now
            )
    return windows


@dataclass(frozen=True)
class PreparedHunt:
    """A book ready to run: its plan and the resolved window of each get step."""

    plan: Plan
    windows: dict[str, Window]

    @property
    def book(self) -> HuntBook:
        return self.plan.book


def prepare_hunt(
    path: str | Path, now: datetime, start: datetime | None = None, stop: datetime | None = None
) -> PreparedHunt:
    """Load the book at ``path``, compile it and resolve its windows for a run at ``now``.

    The CLI and the flow both start here, so a book that ``huntline compile`` accepts is the
    book the flow runs, and every error comes out the same way.

    Raises:
        BookError: the book cannot be read or is invalid.
        CompileError: its steps do not form a plan, or only one of ``start``/``stop`` is given.
        WindowError: the run's window is empty or reversed.
    """
    plan = compile_book(load_book(path))
    return PreparedHunt(plan=plan, windows=resolve_windows(plan, now, start, stop))
