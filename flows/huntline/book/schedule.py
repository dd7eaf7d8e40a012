"""The parts of a book that run it without a person: ``schedule:`` and ``intel:``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from huntline.book.cron_fields import cron_problem
from huntline.book.fields import OneOrMore, Strict
from huntline.window import parse_duration

CRON_FIELDS = 5


def _never_fires(cron: str) -> bool:
    """Whether Prefect's scheduler finds no time for ``cron`` (``0 0 31 2 *``).

    Asked of the croniter that Prefect vendors and schedules with, so the answer is the
    server's; a valid schedule finds its next time within microseconds.
    """
    from datetime import UTC, datetime

    from prefect._vendor.croniter.croniter import CroniterBadDateError, croniter

    schedule = croniter(cron, datetime(2000, 1, 1, tzinfo=UTC))  # type: ignore[no-untyped-call]
    try:
        schedule.get_next(datetime)  # type: ignore[no-untyped-call]
    except CroniterBadDateError:
        return True
    return False


class Cron(Strict):
    """A cron expression and its time zone, checked as Prefect's server will check them: a
    book's ``schedule:`` and the intel watcher's ``watch:`` in ``hunts/intel.yaml``."""

    cron: str = Field(description="Cron expression", examples=["*/30 * * * *"])
    timezone: str = Field(default="UTC", description="IANA time zone of the cron expression")

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        # Prefect's own model: what it accepts here, the server accepts on deploy.
        from prefect.client.schemas.schedules import CronSchedule
        from pydantic import ValidationError

        try:
            CronSchedule(cron=value)
        except ValidationError as error:
            raise ValueError(error.errors()[0]["msg"].removeprefix("Value error, ")) from None
        fields = value.split()
        if not value.startswith("@") and len(fields) != CRON_FIELDS:  # croniter takes 6 or 7
            raise ValueError(
                f"cron {value!r} has {len(fields)} fields; a cron expression has 5: "
                "minute hour day-of-month month day-of-week"
            )
        if _never_fires(value):
            raise ValueError(f"cron {value!r} never fires: no date has that day and month")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as UTC or Europe/Paris"
            ) from None
        return value

    @field_validator("cron", mode="before")
    @classmethod
    def _name_the_wrong_field(cls, value: Any) -> Any:
        """Runs before ``_check_cron``: a cron Prefect refuses gets the field at fault and why
        (:mod:`huntline.book.cron_fields`) instead of only "Invalid cron string"."""
        from prefect.client.schemas.schedules import CronSchedule
        from pydantic import ValidationError

        if not isinstance(value, str):
            return value
        try:
            CronSchedule(cron=value)
        except ValidationError:
            problem = cron_problem(value)
            if problem:
                raise ValueError(problem) from None
        return value


class Schedule(Cron):
    """``schedule:``: run the book on a cron schedule, each run covering the look-back
    (``window.last``) plus ``overlap`` before its scheduled time, and catching up a gap in the
    coverage record of at most ``max_catchup``."""

    overlap: str = Field(default="5m", description="Extra look-back so windows overlap")
    max_catchup: str = Field(
        default="24h", description="The largest gap a run covers after missed runs"
    )

    @field_validator("overlap", "max_catchup")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class IntelUse(Strict):
    """``intel:``: re-run the book when these feeds publish new indicators, over ``lookback``."""

    feeds: OneOrMore[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]] = Field(
        min_length=1, description="Feeds of hunts/intel.yaml", examples=[["sample"]]
    )
    lookback: str = Field(default="30d", description="How far back a retro-hunt searches")

    @field_validator("lookback")
    @classmethod
    def _check_lookback(cls, value: str) -> str:
        parse_duration(value)
        return value
