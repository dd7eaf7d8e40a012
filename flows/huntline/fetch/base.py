"""The contract every data source meets: a time :class:`Window` and the `DataSource` Protocol.

A source answers one question: "which STIX observed-data match this pattern inside this window?"
It answers in pages, so a flow never holds a whole result set in memory, and it always receives
an explicit window, because connector defaults differ (stix_bundle looks back 5 minutes, mysql
not at all) and a hunt must not depend on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from huntline.errors import FetchError

#: One STIX 2.0 observed-data object, with its SCOs embedded under ``objects``.
ObservedData = dict[str, Any]


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, stop)`` in UTC, as STIX START/STOP qualifiers define it.

    Both ends must be timezone-aware; they are normalised to UTC so that two windows for the
    same instants compare equal and print the same.
    """

    start: datetime
    stop: datetime

    def __post_init__(self) -> None:
        for end in ("start", "stop"):
            value = getattr(self, end)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise FetchError(
                    f"window {end} must be a timezone-aware datetime, got {value!r}",
                    hint="build it with datetime(..., tzinfo=datetime.UTC)",
                )
            object.__setattr__(self, end, value.astimezone(UTC))
        if self.start >= self.stop:
            raise FetchError(
                f"window start {self.start.isoformat()} is not before stop {self.stop.isoformat()}"
            )

    @classmethod
    def last(cls, duration: timedelta, *, now: datetime | None = None) -> Window:
        """The window that ends ``now`` (default: the current time) and lasts ``duration``."""
        stop = now or datetime.now(UTC)
        return cls(stop - duration, stop)


@runtime_checkable
class DataSource(Protocol):
    """Where observed-data comes from: a stix-shifter connector or a local STIX bundle.

    Attributes:
        name: The name the hunt book used for the source (profile name or URI, without secrets).
    """

    name: str

    def describe(self) -> str:
        """A one-line description for logs and plans, e.g. ``stix_bundle http://h/b.json``.

        It never contains credentials, so it is safe to log and to store in manifests.
        """
        ...

    def pages(
        self,
        pattern: str,
        window: Window,
        *,
        limit: int | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[list[ObservedData]]:
        """Yield the observed-data matching ``pattern`` inside ``window``, page by page.

        Args:
            pattern: A STIX pattern. The window is added to every observation expression that
                does not already carry its own START/STOP qualifier.
            window: The time range to search.
            limit: Stop after this many results (None: no limit).
            page_size: How many results to ask for per round trip.

        Raises:
            DataSourceError: The source is unreachable, misconfigured or answered with an error.
            FetchError: The source answered with something that is not valid STIX.
        """
        ...
