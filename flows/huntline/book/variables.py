"""Which step sets each variable a step reads: the one place a variable read before it is set
is found. The loader reports each such read at its line; the compiler builds the DAG from the
same answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from huntline.book.steps import StepModel, kind_of
from huntline.book.steps.base import Location


@dataclass(frozen=True)
class UnsetRead:
    """A variable that a step (or the alert) reads before any earlier step sets it.

    Attributes:
        location: Where the read is written, from the top of the book
            (``("steps", 1, "on", 0)`` or ``("alert", "on")``).
        variable: The variable read.
        defined: The variables set before it, for the message.
    """

    location: Location
    variable: str
    defined: tuple[str, ...]

    @property
    def message(self) -> str:
        known = ", ".join(sorted(self.defined)) or "none yet"
        return f"variable {self.variable!r} is not set by any earlier step (set so far: {known})"


@dataclass(frozen=True)
class DataFlow:
    """The answer for a whole book.

    Attributes:
        inputs: For each step, every variable it reads mapped to the index of the step that
            last set it before (reads of unset variables are left out).
        writers: For each variable, the index of the step that sets it last.
        unset: Every read of a variable no earlier step sets, in book order.
    """

    inputs: tuple[dict[str, int], ...]
    writers: dict[str, int]
    unset: tuple[UnsetRead, ...]


def data_flow(steps: Sequence[StepModel], alert_on: str | None = None) -> DataFlow:
    """Follow the variables through ``steps`` (and into the alert that reads ``alert_on``)."""
    writers: dict[str, int] = {}
    inputs: list[dict[str, int]] = []
    unset: list[UnsetRead] = []
    for index, step in enumerate(steps):
        reads_key = kind_of(step).reads_key
        found: dict[str, int] = {}
        for position, variable in enumerate(step.reads):
            if variable in writers:
                found[variable] = writers[variable]
            else:
                where: Location = ("steps", index, reads_key or "", position)
                if reads_key and isinstance(getattr(step, reads_key, None), str):
                    where = where[:-1]  # a single variable (expect: procs), not a list
                unset.append(UnsetRead(where, variable, tuple(writers)))
        inputs.append(found)
        for variable in step.writes:
            # A step that updates a variable it reads does not set it when the read failed.
            if variable in found or variable not in step.reads:
                writers[variable] = index
    if alert_on is not None and alert_on not in writers:
        unset.append(UnsetRead(("alert", "on"), alert_on, tuple(writers)))
    return DataFlow(inputs=tuple(inputs), writers=writers, unset=tuple(unset))
