"""Compile a hunt book into a plan: a DAG of steps ordered by the variables they read and write.

Each step depends on the step that last wrote each variable it reads
(:func:`huntline.book.variables.data_flow`), so independent ``get`` steps run concurrently
while an ``apply`` waits for the data it works on. Every step kind comes from the registry
(:data:`huntline.book.STEP_KINDS`). The plan is pure data:
it touches no data source, which is what makes ``huntline compile --explain`` a safe dry run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from huntline.book import Alert, HuntBook, StepKind, StepModel, kind_of
from huntline.book.loader import LoadedBook
from huntline.book.variables import data_flow
from huntline.errors import CompileError
from huntline.steps import StepAction, action_of
from huntline.steps.book_checks import read_hunt
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
    step: StepModel
    inputs: dict[str, str]

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.inputs.values()))

    @property
    def step_kind(self) -> StepKind[Any]:
        return kind_of(self.step)

    @property
    def kind(self) -> str:
        return self.step_kind.keyword

    @property
    def action(self) -> StepAction[Any]:
        """How the step runs."""
        return action_of(self.step)


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
    flow = data_flow(book.steps, book.alert.on if book.alert else None)
    if flow.unset:
        unset = flow.unset[0]
        where = ".".join(str(part) for part in unset.location)
        raise CompileError(f"{where}: {unset.message}")
    ids = [f"{index:02d}_{kind_of(step).keyword}" for index, step in enumerate(book.steps)]
    planned = tuple(
        PlannedStep(
            id=ids[index],
            step=step,
            inputs={variable: ids[writer] for variable, writer in flow.inputs[index].items()},
        )
        for index, step in enumerate(book.steps)
    )
    alert_input = ids[flow.writers[book.alert.on]] if book.alert is not None else None
    return Plan(book=book, steps=planned, alert=book.alert, alert_input=alert_input)


def explain(plan: Plan, windows: dict[str, Window]) -> list[dict[str, str]]:
    """One row per task of the plan: what it does, what it reads, and what it would query or run.

    ``windows`` gives each windowed step's resolved window.
    """
    rows: list[dict[str, str]] = []
    for planned in plan.steps:
        rows.append(
            {
                "task": planned.id,
                "after": ", ".join(planned.depends_on) or "-",
                "writes": ", ".join(planned.step.writes),
                "does": planned.action.explain(planned.step, windows.get(planned.id)),
            }
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
    """The window of every step whose kind runs over one (``get``).

    A window given for the run (``start``/``stop``) overrides the book; otherwise a step's own
    ``window:`` wins over the book's default ``window:``, resolved relative to ``now``.
    """
    if (start is None) != (stop is None):
        raise CompileError("give both --start and --stop, or neither")
    run_window = Window(start, stop) if start is not None and stop is not None else None
    windows: dict[str, Window] = {}
    for planned in plan.steps:
        own_window = planned.step_kind.windowed
        if own_window is not None:
            spec = own_window(planned.step) or plan.book.window
            windows[planned.id] = run_window or spec.resolve(now)
    return windows


@dataclass(frozen=True)
class PreparedHunt:
    """A book ready to run: its plan and the resolved window of each get step."""

    plan: Plan
    windows: dict[str, Window]
    loaded: LoadedBook  # the file and the sha256 of the bytes the plan was compiled from

    @property
    def book(self) -> HuntBook:
        return self.plan.book


def prepare_hunt(
    path: str | Path, now: datetime, start: datetime | None = None, stop: datetime | None = None
) -> PreparedHunt:
    """Load the book at ``path``, compile it and resolve its windows for a run at ``now``.

    The CLI starts here, and a flow with no hunt handed over reads and compiles the same way
    (:func:`huntline.schedule.prepare.prepare_run`), so a book that ``huntline compile``
    accepts is the book the flow runs, and every error comes out the same way.

    Raises:
        BookError: the book cannot be read or is invalid.
        CompileError: its steps do not form a plan, or only one of ``start``/``stop`` is given.
        WindowError: the run's window is empty or reversed.
    """
    loaded = read_hunt(path)
    plan = compile_book(loaded.book)
    return PreparedHunt(plan=plan, windows=resolve_windows(plan, now, start, stop), loaded=loaded)
