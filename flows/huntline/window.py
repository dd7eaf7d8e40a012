"""The one time window of huntline: a half-open range ``[start, stop)`` in UTC.

The book (``window:``), the compiler (``--start``/``--stop`` of a run), the flow and every data
source use this class, so there is one place that decides what a window is: both ends are
normalised to UTC (a time without a zone *is* UTC, as in hunt books and on the command line),
and the start comes strictly before the stop. Durations (``24h``) are read here too. It sits
below every stage and imports none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from huntline.errors import WindowError

DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: The longest duration: a window or a look-back beyond a century is a typo, and one beyond
#: ``timedelta``'s range (999,999,999 days) would crash instead of failing.
MAX_DURATION = timedelta(days=36_500)


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``24h``, ``7d`` or ``2w`` into a timedelta.

    Raises:
        ValueError: ``text`` is not such a duration (a book model reports it at its line).
    """
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as 30m, 24h or 7d, got {text!r}")
    amount, unit = match.groups()
    try:
        duration = timedelta(**{DURATION_UNITS[unit]: int(amount)}) if len(amount) < 20 else None
    except OverflowError:
        duration = None
    if duration is None or duration > MAX_DURATION:
        raise ValueError(f"duration {text.strip()!r} is too long (at most {MAX_DURATION.days}d)")
    return duration


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a time without a zone is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, stop)`` in UTC, as STIX START/STOP qualifiers define it.

    Both ends are normalised to UTC, so that two windows for the same instants compare equal
    and print the same.

    Raises:
        WindowError: an end is not a datetime, or the start is not before the stop. It is a
            ``ValueError``, so a book model that builds a window reports it at its line.
    """

    start: datetime
    stop: datetime

    def __post_init__(self) -> None:
        for end in ("start", "stop"):
            value = getattr(self, end)
            if not isinstance(value, datetime):
                raise WindowError(f"window {end} must be a datetime, got {value!r}")
            object.__setattr__(self, end, utc(value))
        if self.start >= self.stop:
            raise WindowError(
                f"window start {self.start.isoformat()} is not before stop {self.stop.isoformat()}"
            )

    @classmethod
    def last(cls, duration: timedelta, *, now: datetime | None = None) -> Window:
        """The window that ends ``now`` (default: the current time) and lasts ``duration``."""
        stop = now or datetime.now(UTC)
        return cls(stop - duration, stop)
