"""What a step kind is in a book: a model with the variables it reads and writes, and one
description (:class:`StepKind`) of everything else the book and the compiler need about it.

A kind's model subclasses :class:`StepModel`; its :class:`StepKind` names the keyword that opens
the step in YAML, the checks that need more than one field, whether it runs over a window and
which data sources it reads. How a kind *runs* is not here: the book knows nothing of running
(:mod:`huntline.steps` holds each kind's run, report and explain, above the stages).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from huntline.book.fields import Strict, WindowSpec

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

#: The YAML style and text of a scalar inside the step, as written (to explain quoting).
ScalarSource = Callable[[Location], tuple[str | None, str]]


def _no_checks(step: Any, source: ScalarSource) -> list[tuple[Location, str]]:
    return []


@dataclass(frozen=True)
class StepKind(Generic[S]):
    """Everything the book knows about one kind of step.

    Attributes:
        keyword: The key that opens the step in YAML and names its task (``get``); it is also
            the model field holding the step's headline (``get: procs``, ``apply: NAME``).
        model: The pydantic model of the step (a :class:`StepModel`).
        reads_key: The model field listing the variables read (``on``), so that a variable read
            before it is set is reported at its line; None when the kind reads nothing.
        checks: Problems within one valid step that pydantic cannot see (an invalid STIX
            pattern), each at a location relative to the step; ``source`` gives a scalar's
            YAML as written.
        windowed: Whether the step runs over a time window; its own ``window:`` (returned by
            this function) wins over the book's. None: the kind takes no window.
        sources: The data sources the step reads (``from:``), so ``huntline deploy`` can say
            which cannot be opened before a scheduled run fails on them; none by default.
        fetches: The variable a step fetched from sources sets and the STIX entity type of its
            rows (``("procs", "process")``), so ``huntline test`` can stand sample data in
            for the sources; None for a kind that fetches nothing.
    """

    keyword: str
    model: type[S]
    reads_key: str | None = None
    checks: Callable[[S, ScalarSource], list[tuple[Location, str]]] = field(default=_no_checks)
    windowed: Callable[[S], WindowSpec | None] | None = field(default=None)
    sources: Callable[[S], Sequence[str]] = field(default=lambda step: ())
    fetches: Callable[[S], tuple[str, str] | None] = field(default=lambda step: None)

    def headline(self, step: S) -> str:
        """The value after the keyword (``procs`` for ``get: procs``), for task names."""
        return str(getattr(step, self.keyword))
