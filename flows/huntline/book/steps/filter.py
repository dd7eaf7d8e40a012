"""``filter: VAR``: a new variable from the rows of an earlier one that match a STIX pattern or a
huntline condition.

A hunt can then fetch broadly once and branch, as a Kestrel hunter narrows a variable::

    - get: procs
      entity: process
      from: edr
    - filter: shells            # a new table; procs is unchanged
      on: procs
      where: "[process:name IN ('cmd.exe', 'powershell.exe')]"
    - filter: encoded
      on: shells
      when: command_line icontains '-enc'

``where:`` is evaluated locally over the table (:mod:`huntline.patterns`: stix2-matcher's
semantics, each row one SCO), so it must compare properties of the table's entity type and
relate no observations (no ``AND`` between ``[...]``, ``FOLLOWEDBY``, ``WITHIN``); ``when:`` is
a condition as in ``alert.when`` (:mod:`huntline.expressions`). Exactly one of the two.
The rows keep every column of ``on``; the filter runs in the process, no container. How it
runs, and the checks of its pattern or condition, are :mod:`huntline.steps.filter`.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from huntline.book.fields import VARIABLE_NAME
from huntline.book.steps.base import StepKind, StepModel


class FilterStep(StepModel):
    """``filter: VAR``: the rows of ``on`` that match ``where`` (STIX) or ``when`` (condition)."""

    filter: str = Field(pattern=VARIABLE_NAME, description="The new variable")
    on: str = Field(pattern=VARIABLE_NAME, description="The variable whose rows are kept or not")
    where: str | None = Field(
        default=None,
        min_length=1,
        description="STIX pattern over the rows (evaluated locally, stix2-matcher's semantics)",
        examples=["[process:name = 'cmd.exe']"],
    )
    when: str | None = Field(
        default=None,
        min_length=1,
        description="A condition over the rows, as alert.when",
        examples=["command_line icontains '-enc'"],
    )

    @model_validator(mode="after")
    def _one_test(self) -> FilterStep:
        if (self.where is None) == (self.when is None):
            raise ValueError("a filter has either where: (a STIX pattern) or when: (a condition)")
        return self

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.on,)

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.filter,)


FILTER = StepKind(keyword="filter", model=FilterStep, reads_key="on")
