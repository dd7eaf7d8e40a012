"""The parts of a book that run it without a person: ``schedule:`` and ``intel:``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from huntline.book.cron_fields import cron_problem
from huntline.book.fields import DurationText, OneOrMore, Strict

CRON_FIELDS = 5


def _never_fires(cron: str) -> bool:
    """Whether the scheduler finds no time for ``cron`` (``0 0 31 2 *``); a valid schedule
    finds its next time within microseconds."""
    from datetime import UTC, datetime

    from croniter import CroniterBadDateError, croniter

    schedule = croniter(cron, datetime(2000, 1, 1, tzinfo=UTC))
    try:
        schedule.get_next(datetime)
    except CroniterBadDateError:
        return True
    return False


def _prefect_refusal(cron: str) -> str | None:
    """Why Prefect's ``CronSchedule`` refuses ``cron``, in its words, or None if it accepts it.

    Prefect 3.9.1 checks a cron with the croniter it vendors, which is croniter 6.0.0 (the
    same syntax tree, only reformatted); that release is installed and asked here, so a book
    is checked as the server will check it without importing Prefect (about 1.5 s of CPU,
    issue 21 item 11). The two checks below are Prefect's ``validate_cron_string``.
    """
    from croniter import croniter

    if not croniter.is_valid(cron):
        return f'Invalid cron string: "{cron}"'
    if any(field.casefold() in ("r", "h") for field in cron.split()):
        return f'Random and Hashed expressions are unsupported, received: "{cron}"'
    return None


class Cron(Strict):
    """A cron expression and its time zone, checked as Prefect's server will check them: a
    book's ``schedule:`` and the intel watcher's ``watch:`` in ``hunts/intel.yaml``."""

    cron: str = Field(description="Cron expression", examples=["*/30 * * * *"])
    timezone: str = Field(default="UTC", description="IANA time zone of the cron expression")

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        # Prefect's own check: what it accepts here, the server accepts on deploy.
        refusal = _prefect_refusal(value)
        if refusal:
            raise ValueError(refusal)
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
        if not isinstance(value, str):
            return value
        if _prefect_refusal(value):
            problem = cron_problem(value)
            if problem:
                raise ValueError(problem)
        return value


class Schedule(Cron):
    """``schedule:``: run the book on a cron schedule, each run covering the look-back
    (``window.last``) plus ``overlap`` before its scheduled time, and catching up a gap in the
    coverage record of at most ``max_catchup``."""

    overlap: DurationText = Field(default="5m", description="Extra look-back so windows overlap")
    max_catchup: DurationText = Field(
        default="24h", description="The largest gap a run covers after missed runs"
    )


class IntelUse(Strict):
    """``intel:``: re-run the book when these feeds publish new indicators, over ``lookback``."""

    feeds: OneOrMore[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]] = Field(
        min_length=1, description="Feeds of hunts/intel.yaml", examples=[["sample"]]
    )
    lookback: DurationText = Field(default="30d", description="How far back a retro-hunt searches")
