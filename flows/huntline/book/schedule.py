"""The parts of a book that run it without a person: ``schedule:`` and ``intel:``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from huntline.book.fields import OneOrMore, Strict
from huntline.window import parse_duration


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
