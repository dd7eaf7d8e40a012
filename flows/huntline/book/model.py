"""The hunt book schema, v1.

A hunt book is declarative: metadata, a list of steps and an alert. ``get`` steps fetch an
entity type from a data source with a STIX pattern; ``apply`` steps run an analytics over
variables; the ``alert`` section picks rows of one variable and raises alerts on them.

Every model forbids unknown keys, so a typo (``wehre:``) is an error instead of a silently
ignored field.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from huntline.book.observables import every_entity_pattern, unknown_type
from huntline.window import Window

T = TypeVar("T")
VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LEVELS = ("informational", "low", "medium", "high", "critical")
Level = Literal["informational", "low", "medium", "high", "critical"]
TAG = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``24h``, ``7d`` or ``2w`` into a timedelta."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as 30m, 24h or 7d, got {text!r}")
    amount, unit = match.groups()
    return timedelta(**{DURATION_UNITS[unit]: int(amount)})


class WindowSpec(Strict):
    """A book's ``window:``: either ``last: 24h`` (relative to the run) or absolute
    ``start``/``stop``. :meth:`resolve` turns it into the one :class:`~huntline.window.Window`,
    which also checks and normalises absolute ends, so the rules live there only."""

    last: str | None = Field(
        default=None, description="Relative window, e.g. 24h", examples=["24h"]
    )
    start: datetime | None = Field(default=None, description="Absolute start (ISO 8601)")
    stop: datetime | None = Field(default=None, description="Absolute stop (ISO 8601)")

    @field_validator("last")
    @classmethod
    def _check_last(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

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


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A list that a book may also write as a single item: `on: procs` or `on: [procs, conns]`.
OneOrMore = Annotated[list[T], BeforeValidator(_listed)]


class GetStep(Strict):
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
    page_size: int = Field(
        default=1000, gt=0, le=100_000, description="Observations per request to each source"
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


ParameterValue = str | int | float | bool | list[str | int | float]


class ApplyStep(Strict):
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
        parse_duration(value)
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


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in ("get", "apply"):
            if kind in value:
                return kind
        return None
    return (
        "get" if isinstance(value, GetStep) else "apply" if isinstance(value, ApplyStep) else None
    )


Step = Annotated[
    Annotated[GetStep, Tag("get")] | Annotated[ApplyStep, Tag("apply")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="each step starts with get: or apply:",
    ),
]


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
    suppress_for: str = Field(
        default="24h", description="Repeats of a notified key within this long do not notify"
    )
    notify: OneOrMore[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Destinations: apprise URLs, jsonl:// files, or names in destinations.yaml",
    )
    max_notifications: int = Field(
        default=20, ge=1, description="Messages per destination per run; the rest go in a digest"
    )

    @field_validator("suppress_for")
    @classmethod
    def _check_suppress_for(cls, value: str) -> str:
        parse_duration(value)
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
    runner: Literal["docker", "python"] = Field(
        default="docker",
        description="How an apply step with a bare NAME runs: docker (image "
        "kestrel-analytics-NAME) or python (analytics_images/NAME/analytics.py, in process)",
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
            and "://" not in step["apply"]
            else step
            for step in data.get("steps") or []
        ]
        return {**data, "steps": steps}
