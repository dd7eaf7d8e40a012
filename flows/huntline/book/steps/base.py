"""What a step kind is: a model with the variables it reads and writes, and one description
(:class:`StepKind`) of everything else the book, the compiler and the flow need about it.

A kind's model subclasses :class:`StepModel`; its :class:`StepKind` names the keyword that opens
the step in YAML, the checks that need more than one field, the line ``huntline compile``
shows, the plain function that runs it and what its task reports. Everything that used to tell
``get`` from ``apply`` with ``isinstance`` now reads these.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from huntline.book.fields import Strict, WindowSpec
from huntline.window import Window

if TYPE_CHECKING:
    # Types only: loading a book must not import pandas and pyarrow (storage) to stay cheap.
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import TableRef

#: A place inside one step, relative to it: ``("on", 1)`` or ``("where",)``.
Location = tuple[str | int, ...]


class StepModel(Strict):
    """The YAML of one step. Each kind's model says which variables it reads and writes, which
    is all the compiler needs to order steps into a DAG."""

    @property
    @abstractmethod
    def reads(self) -> tuple[str, ...]:
        """Variables whose tables the step needs, in order."""

    @property
    @abstractmethod
    def writes(self) -> tuple[str, ...]:
        """Variables whose tables the step leaves behind."""


S = TypeVar("S", bound=StepModel)


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

#: The YAML style and text of a scalar inside the step, as written (to explain quoting).
ScalarSource = Callable[[Location], tuple[str | None, str]]


def _no_checks(step: Any, source: ScalarSource) -> list[tuple[Location, str]]:
    return []


@dataclass(frozen=True)
class StepKind(Generic[S]):
    """Everything huntline knows about one kind of step.

    Attributes:
        keyword: The key that opens the step in YAML and names its task (``get``); it is also
            the model field holding the step's headline (``get: procs``, ``apply: NAME``).
        model: The pydantic model of the step (a :class:`StepModel`).
        explain: The ``does`` line of ``huntline compile``, given the step and its window.
        run: The plain function that runs the step (no Prefect); see :data:`StepRunner`.
        report: What the task logs and links after ``run``: (step id, step, output) -> Report.
        reads_key: The model field listing the variables read (``on``), so that a variable read
            before it is set is reported at its line; None when the kind reads nothing.
        checks: Problems within one valid step that pydantic cannot see (an invalid STIX
            pattern), each at a location relative to the step; ``source`` gives a scalar's
            YAML as written.
        windowed: Whether the step runs over a time window; its own ``window:`` (returned by
            this function) wins over the book's. None: the kind takes no window.
        sources: The data sources the step reads (``from:``), so ``huntline deploy`` can say
            which cannot be opened before a scheduled run fails on them; none by default.
    """

    keyword: str
    model: type[S]
    explain: Callable[[S, Window | None], str]
    run: StepRunner[S]
    report: Callable[[str, S, StepOutput], Report]
    reads_key: str | None = None
    checks: Callable[[S, ScalarSource], list[tuple[Location, str]]] = field(default=_no_checks)
    windowed: Callable[[S], WindowSpec | None] | None = field(default=None)
    sources: Callable[[S], Sequence[str]] = field(default=lambda step: ())

    def headline(self, step: S) -> str:
        """The value after the keyword (``procs`` for ``get: procs``), for task names."""
        return str(getattr(step, self.keyword))
