"""The coverage record of a hunt: which time ranges its completed runs have searched.

It lives in object storage at ``<hunt-id>/coverage/intervals.json``, as merged, sorted
``[start, stop)`` intervals in UTC. A scheduled run reads it to find a gap left by missed runs;
``huntline coverage`` shows it; backfill reads it to skip windows already done. Retro-hunts
(which search for a few indicators only) and dry runs do not count as coverage.

Writes are read-merge-write: two runs that finish at the same instant may race, and the loser's
interval is then missing, which the next run sees as a gap and covers again (safe, not lost).
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel

from huntline.errors import StorageError
from huntline.storage import ObjectStore
from huntline.window import Window, utc


def coverage_key(hunt_id: str) -> str:
    return f"{hunt_id}/coverage/intervals.json"


class Coverage(BaseModel):
    """Merged covered intervals of one hunt."""

    hunt_id: str
    intervals: list[tuple[datetime, datetime]] = []

    def add(self, window: Window) -> Coverage:
        """This coverage plus ``window``, merged (touching intervals join)."""
        spans = sorted([*self.intervals, (window.start, window.stop)])
        merged: list[tuple[datetime, datetime]] = []
        for start, stop in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        return Coverage(hunt_id=self.hunt_id, intervals=merged)

    def covers(self, moment: datetime) -> bool:
        return any(start <= moment < stop for start, stop in self.intervals)

    def covered_until(self, moment: datetime) -> datetime | None:
        """The end of the last covered interval that ends at or before ``moment``."""
        ends = [stop for _, stop in self.intervals if stop <= moment]
        return max(ends) if ends else None

    def gaps(self, within: Window) -> list[Window]:
        """The parts of ``within`` no interval covers."""
        found: list[Window] = []
        cursor = within.start
        for start, stop in self.intervals:
            if stop <= cursor or start >= within.stop:
                continue
            if start > cursor:
                found.append(Window(cursor, start))
            cursor = max(cursor, stop)
        if cursor < within.stop:
            found.append(Window(cursor, within.stop))
        return found

    @property
    def span(self) -> Window | None:
        if not self.intervals:
            return None
        return Window(self.intervals[0][0], self.intervals[-1][1])


def load_coverage(store: ObjectStore, hunt_id: str) -> Coverage:
    """The hunt's coverage record; empty if it has none yet."""
    key = coverage_key(hunt_id)
    if not store.exists(key):
        return Coverage(hunt_id=hunt_id)
    try:
        data = json.loads(store.get_bytes(key))
        intervals = [
            (utc(datetime.fromisoformat(a)), utc(datetime.fromisoformat(b)))
            for a, b in data["intervals"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise StorageError(
            f"the coverage record {store.uri(key)} is not readable: {error}",
            uri=store.uri(key),
            hint="delete it to start the record afresh (the next run covers its look-back)",
        ) from error
    return Coverage(hunt_id=hunt_id, intervals=intervals)


def record_coverage(store: ObjectStore, hunt_id: str, window: Window) -> Coverage:
    """Add ``window`` to the hunt's record and store it."""
    coverage = load_coverage(store, hunt_id).add(window)
    payload = {
        "hunt_id": hunt_id,
        "intervals": [[start.isoformat(), stop.isoformat()] for start, stop in coverage.intervals],
    }
    store.put_bytes(coverage_key(hunt_id), json.dumps(payload, indent=1).encode())
    return coverage
