"""The pieces every part of a hunt book's schema shares: the strict base model, variable names,
one-or-more lists and the ``window:`` declaration.

They sit apart from :mod:`huntline.book.model` so that step kinds (:mod:`huntline.book.steps`),
which the book model assembles, can use them without importing the book.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from huntline.window import Window, parse_duration

T = TypeVar("T")
VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Strict(BaseModel):
    """Unknown keys are errors, so a typo (``wehre:``) is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A list that a book may also write as a single item: `on: procs` or `on: [procs, conns]`.
OneOrMore = Annotated[list[T], BeforeValidator(_listed)]


def _duration(value: str) -> str:
    parse_duration(value)  # a ValueError naming what is wrong, reported at the field's line
    return value


#: A duration such as ``30m``, ``2h`` or ``1d`` (:func:`~huntline.window.parse_duration`),
#: checked when the book loads and kept as written.
DurationText = Annotated[str, AfterValidator(_duration)]


class WindowSpec(Strict):
    """A book's ``window:``: either ``last: 24h`` (relative to the run) or absolute
    ``start``/``stop``. :meth:`resolve` turns it into the one :class:`~huntline.window.Window`,
    which also checks and normalises absolute ends, so the rules live there only."""

    last: DurationText | None = Field(
        default=None, description="Relative window, e.g. 24h", examples=["24h"]
    )
    start: datetime | None = Field(default=None, description="Absolute start (ISO 8601)")
    stop: datetime | None = Field(default=None, description="Absolute stop (ISO 8601)")

    @model_validator(mode="after")
    def _one_kind(self) -> WindowSpec:
        if self.last and (self.start or self.stop):
            raise ValueError("give either last: or start:/stop:, not both")
        if not self.last and not (self.start and self.stop):
            raise ValueError("give last: (e.g. 24h) or both start: and stop:")
        if self.start and self.stop:
            Window(self.start, self.stop)  # raises a located error if reversed
        return self

    def resolve(self, now: datetime) -> Window:
        """The absolute window of this spec for a run at ``now``."""
        if self.last:
            return Window.last(parse_duration(self.last), now=now)
        assert self.start and self.stop
        return Window(self.start, self.stop)
