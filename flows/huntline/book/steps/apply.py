"""``apply: NAME``: run an analytics over variables (the Kestrel analytics contract).

The step's model; whether a runner takes its reference is checked by the layer above the
stages when the book loads, and how it runs is :mod:`huntline.steps.apply`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from huntline.book.fields import VARIABLE_NAME, OneOrMore
from huntline.book.steps.base import StepKind, StepModel
from huntline.window import parse_duration

ParameterValue = str | int | float | bool | list[str | int | float]


class ApplyStep(StepModel):
    """``apply: NAME``: run an analytics over variables (the Kestrel analytics contract)."""

    apply: str = Field(
        min_length=1,
        description="docker://NAME, a bare NAME (image kestrel-analytics-NAME), a full image "
        "reference, or python://module:function",
        examples=["susp_scoring", "docker://susp_scoring"],
    )
    on: OneOrMore[Annotated[str, Field(pattern=VARIABLE_NAME)]] = Field(min_length=1)
    with_: dict[str, ParameterValue] = Field(default_factory=dict, alias="with")
    timeout: str = Field(default="10m", description="Kill the analytics after this long")
    network: bool = Field(default=False, description="Give the container network access")

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError(f"a timeout must be longer than 0s, got {value!r}")
        return value

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout).total_seconds()

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(self.on)

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(self.on)


APPLY = StepKind(keyword="apply", model=ApplyStep, reads_key="on")
