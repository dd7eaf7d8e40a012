"""The hunt book schema, v1.

A hunt book is declarative: metadata, a list of steps and an alert. Each step is of one kind
of :data:`huntline.book.steps.STEP_KINDS` (``get`` fetches an entity type from data sources
with a STIX pattern; ``apply`` runs an analytics over variables); the ``alert`` section picks
rows of one variable and raises alerts on them.

Every model forbids unknown keys, so a typo (``wehre:``) is an error instead of a silently
ignored field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, field_validator, model_validator

from huntline.book.fields import VARIABLE_NAME, DurationText, OneOrMore, Strict, WindowSpec
from huntline.book.schedule import IntelUse, Schedule
from huntline.book.steps import Step
from huntline.book.template import parse_template
from huntline.schemes import has_scheme
from huntline.window import parse_duration

LEVELS = ("informational", "low", "medium", "high", "critical")
Level = Literal["informational", "low", "medium", "high", "critical"]
TAG = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")


class Threshold(Strict):
    """Alert only on a group with at least ``count`` matching rows, or ``count`` distinct values
    of the column ``distinct`` (Elastic's threshold rules)."""

    count: int = Field(ge=1, description="Rows (or distinct values) a group needs to alert")
    distinct: str | None = Field(
        default=None, min_length=1, description="Count distinct values of this column instead"
    )


class RiskFrom(Strict):
    """A risk score read from a column: the group's highest value times ``scale``, 0-100."""

    column: str = Field(min_length=1, examples=["x_suspicious_score_norm"])
    scale: float = Field(default=1.0, gt=0, description="Multiplies the column's value")


class SeverityFrom(Strict):
    """A severity read from a column: each value (as text) maps to a level; the group's highest
    level wins, and values missing from the mapping take ``default``."""

    column: str = Field(min_length=1)
    map: dict[str, Level] = Field(min_length=1, examples=[{"3": "high", "4": "critical"}])
    default: Level = "medium"


class Alert(Strict):
    """Raise alerts on the rows of ``on`` that meet ``when``: one per row, or one per group."""

    on: str = Field(pattern=VARIABLE_NAME, description="The variable whose rows are checked")
    when: str = Field(
        min_length=1,
        description="Row condition over columns",
        examples=["x_suspicious_score >= 2 and parent_ref.name != 'explorer.exe'"],
    )
    severity: Level | SeverityFrom = "medium"
    title: str = Field(
        min_length=1,
        description="Template with {column} placeholders",
        examples=["Suspicious {name} (score {x_suspicious_score})"],
    )
    summary: str | None = Field(
        default=None, min_length=1, description="A longer template, same rules as title"
    )
    fields: list[str] = Field(
        default_factory=list, description="Extra columns each alert carries besides id and type"
    )
    group_by: OneOrMore[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="One alert per group of these columns, not per row"
    )
    threshold: Threshold | None = None
    risk_score: Annotated[int, Field(ge=0, le=100)] | RiskFrom | None = None
    dedup: OneOrMore[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Columns of the dedup key (default: group_by, else the entity id)",
    )
    suppress_for: DurationText = Field(
        default="24h", description="Repeats of a notified key within this long do not notify"
    )
    notify: OneOrMore[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Destinations: apprise URLs, jsonl:// files, or names in destinations.yaml",
    )
    max_notifications: int = Field(
        default=20, ge=1, description="Messages per destination per run; the rest go in a digest"
    )

    @field_validator("dedup")
    @classmethod
    def _check_dedup(cls, value: list[str]) -> list[str]:
        if not value:  # only a value the book gives is checked: the default stays []
            raise ValueError(
                "an empty dedup list: leave dedup out (the key is then group_by, else the "
                "entity id) or name its columns"
            )
        return value

    @field_validator("title", "summary")
    @classmethod
    def _check_template(cls, value: str | None) -> str | None:
        if value is not None:
            parse_template(value)  # a TemplateError is a ValueError: pydantic reports it
        return value

    @property
    def suppress_seconds(self) -> float:
        return parse_duration(self.suppress_for).total_seconds()


def _sigma_tag(tag: str) -> str:
    if not TAG.match(tag):
        raise ValueError(
            f"tag {tag!r} is not Sigma-style (lower case, dotted), e.g. attack.t1059.001"
        )
    return tag


class HuntBook(Strict):
    """A whole hunt book."""

    id: UUID = Field(description="Stable identity of the hunt; keeps its runs and alerts together")
    title: str = Field(min_length=1)
    description: str = ""
    author: str = ""
    status: str = Field(default="", description="Maturity, as Sigma's (experimental, test, stable)")
    references: list[str] = Field(default_factory=list, description="Where the idea comes from")
    falsepositives: list[str] = Field(
        default_factory=list, description="What else this finds, as Sigma's falsepositives"
    )
    tags: list[Annotated[str, AfterValidator(_sigma_tag)]] = Field(
        default_factory=list, examples=[["attack.t1059.001"]]
    )
    level: Level = "medium"
    window: WindowSpec = Field(
        default_factory=lambda: WindowSpec(last="24h"),
        description="Default time window of every get step",
    )
    steps: list[Step] = Field(min_length=1)
    alert: Alert | None = None
    schedule: Schedule | None = None
    intel: IntelUse | None = None
    runner: Literal["docker", "python"] = Field(
        default="docker",
        description="How an apply step with a bare NAME runs: docker (image "
        "kestrel-analytics-NAME) or python (analytics_images/NAME/analytics.py, in a child "
        "process)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_runner(cls, data: Any) -> Any:
        """With ``runner: python``, a bare ``apply: NAME`` means ``python://NAME``."""
        if not isinstance(data, dict) or data.get("runner") != "python":
            return data
        steps = [
            {**step, "apply": f"python://{step['apply']}"}
            if isinstance(step, dict)
            and isinstance(step.get("apply"), str)
            and not has_scheme(step["apply"])
            else step
            for step in data.get("steps") or []
        ]
        return {**data, "steps": steps}

    @model_validator(mode="after")
    def _schedule_needs_lookback(self) -> HuntBook:
        if self.schedule is not None and self.window.last is None:
            raise ValueError(
                "a scheduled book needs a relative window (window: {last: 35m}), its look-back"
            )
        return self
