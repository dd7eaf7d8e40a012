"""What running a step kind takes: its plain function, its report and its ``compile`` line.

The book describes a kind (:class:`huntline.book.steps.base.StepKind`); a :class:`StepAction`
adds what only the layer above the stages can say: how the kind runs (it calls into ``fetch``,
``analytics``, ``quality``), what its task shows afterwards, how ``huntline compile`` explains
it, and the checks of a step that need a stage (an ``apply:`` reference with no runner). A new
kind is a model in ``book/steps/`` and an action here, each one line in its registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeAlias

from huntline.book.steps.base import Location, S, StepKind
from huntline.window import Window

if TYPE_CHECKING:
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import TableRef


@dataclass(frozen=True)
class Link:
    """A stored object a task shows in the Prefect UI (as a link artifact)."""

    key: str
    uri: str
    text: str
    description: str | None = None


@dataclass(frozen=True)
class Markdown:
    """A markdown artifact a task shows in the Prefect UI (a quality gate's result)."""

    key: str
    text: str
    description: str | None = None


@dataclass(frozen=True)
class Report:
    """What a step's task logs and shows after it ran; kept free of Prefect so it is tested
    plainly and the flow renders every kind's report the same way. ``error``, if set, is raised
    by the task once the rest is shown: a failed quality gate shows what it found, then fails."""

    info: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    markdown: tuple[Markdown, ...] = ()
    error: Exception | None = None


#: Runs one step: (context, step id, step, its input tables by variable, its window or None).
StepRunner: TypeAlias = (
    "Callable[[RunContext, str, S, Mapping[str, TableRef], Window | None], StepOutput]"
)


def _no_stage_checks(step: Any) -> list[tuple[Location, str]]:
    return []


@dataclass(frozen=True)
class StepAction(Generic[S]):
    """How one kind of step runs.

    Attributes:
        kind: The book's description of the kind.
        explain: The ``does`` line of ``huntline compile``, given the step and its window.
        run: The plain function that runs the step (no Prefect); see :data:`StepRunner`.
        report: What the task logs and links after ``run``: (step id, step, output) -> Report.
        checks: Problems of one valid step that a stage finds when the book loads (no runner
            for an ``apply:`` reference), each at a location relative to the step.
        warnings: What ``huntline validate`` warns of in one step, given its number, that
            may still run (an image that needs the network the step does not give it).
    """

    kind: StepKind[S]
    explain: Callable[[S, Window | None], str]
    run: StepRunner[S]
    report: Callable[[str, S, StepOutput], Report]
    checks: Callable[[S], list[tuple[Location, str]]] = field(default=_no_stage_checks)
    warnings: Callable[[str, S], list[str]] = field(default=lambda step_id, step: [])
