"""``get: VAR``: fetch the entities of one type from data sources with a STIX pattern.

The step's model and its checks; how it runs is :mod:`huntline.steps.get`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from huntline.book.fields import VARIABLE_NAME, OneOrMore, WindowSpec
from huntline.book.indicators import INDICATOR_TYPES, sample, unknown_placeholders
from huntline.book.observables import every_entity_pattern, pattern_type_problems, unknown_type
from huntline.book.pattern_checks import pattern_problems, validator_failures
from huntline.book.quoting import quoting_hint
from huntline.book.steps.base import Location, ScalarSource, StepKind, StepModel


class GetStep(StepModel):
    """``get: VAR``: fetch entities of one type from a data source with a STIX pattern."""

    get: str = Field(pattern=VARIABLE_NAME, description="The variable the rows go into")
    entity: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="STIX cyber-observable type",
        examples=["process"],
    )
    sources: OneOrMore[Annotated[str, Field(min_length=1)]] = Field(
        alias="from",
        min_length=1,
        description="One or more data sources, fetched concurrently: stix-shifter profile names, "
        "file:// bundles or http(s):// bundles",
        examples=["edr", ["edr", "siem"]],
    )
    where: str = Field(
        min_length=1,
        description="STIX pattern; without it, every entity of the type "
        "(observables.every_entity_pattern)",
        examples=["[process:name = 'cmd.exe']"],
    )
    window: WindowSpec | None = None
    limit: int | None = Field(default=None, gt=0, description="At most this many observations")
    page_size: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Observations per request to each source (default: the source's own, "
        "1,000, or 20,000 for connectors that re-read everything per page: stix_bundle, mysql)",
    )

    @model_validator(mode="before")
    @classmethod
    def _every_entity(cls, data: Any) -> Any:
        if isinstance(data, dict) and "where" not in data and isinstance(data.get("entity"), str):
            return {**data, "where": every_entity_pattern(data["entity"])}
        return data

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        problem = unknown_type(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("where")
    @classmethod
    def _pattern_shape(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped.startswith("["):
            raise ValueError("a STIX pattern starts with '[', e.g. [process:name = 'cmd.exe']")
        return stripped

    @property
    def reads(self) -> tuple[str, ...]:
        return ()

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.get,)


def _checks(step: GetStep, source: ScalarSource) -> list[tuple[Location, str]]:
    """The pattern parses as STIX 2.0, and can return the entity the hunter meant."""
    where: Location = ("where",)
    problems: list[tuple[Location, str]] = [
        (
            where,
            f"unknown indicator type intel.{kind}: use one of "
            + ", ".join(f"intel.{known}" for known in INDICATOR_TYPES),
        )
        for kind in unknown_placeholders(step.where)
    ]
    pattern = sample(step.where)  # {{ intel.TYPE }} stands for a set of indicators
    failures = validator_failures(pattern)
    for message in failures:
        hint = quoting_hint(*source(where), step.where)
        problems.append(
            (
                where,
                f"invalid STIX pattern: {message.removeprefix('FAIL: ')}"
                + (f"\n  hint: {hint}" if hint else ""),
            )
        )
    if not failures:
        found = pattern_type_problems(step.entity, pattern) + pattern_problems(pattern)
        problems.extend((where, problem) for problem in found)
    return problems


GET = StepKind(
    keyword="get",
    model=GetStep,
    checks=_checks,
    windowed=lambda step: step.window,
    sources=lambda step: step.sources,
    fetches=lambda step: (step.get, step.entity),
)
