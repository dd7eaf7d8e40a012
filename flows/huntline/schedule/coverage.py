"""The coverage record of a hunt: which time ranges its completed runs have searched.

It lives in object storage at ``<hunt-id>/coverage/intervals.json``, as merged, sorted
``[start, stop)`` intervals in UTC. A scheduled run reads it to find a gap left by missed runs;
``huntline coverage`` shows it; backfill reads it to skip windows already done. Retro-hunts
(which search for a few indicators only) and dry runs do not count as coverage.

Runs of one hunt finish together (a backfill with concurrency, a scheduled run beside a
catch-up), so a run adds its window as a conditional read-merge-write through the store's
compare-and-swap (:func:`huntline.storage.update_object`, as for the alert ledger): the write
only lands if the record is still the one read (``If-Match`` on S3, ``flock`` + check + rename
on a directory), and otherwise the window is merged into the newer record and written again.
One object stays one object: ``load_coverage`` is a single read however many runs there were,
and the record is readable as it is (``huntline coverage``, or any JSON reader). Append-only
per-run records would also be race-free, but every read would list and merge thousands of
objects (an hourly hunt makes 8,760 a year), so they would need a compaction step, which is
itself a read-modify-write.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel

from huntline.errors import StorageError
from huntline.storage import ObjectStore, update_object
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
    data, _ = store.read_versioned(key)
    return Coverage(hunt_id=hunt_id) if data is None else _parse(data, hunt_id, store.uri(key))


def _parse(data: bytes, hunt_id: str, uri: str) -> Coverage:
    try:
        intervals = [
            (utc(datetime.fromisoformat(a)), utc(datetime.fromisoformat(b)))
            for a, b in json.loads(data)["intervals"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise StorageError(
            f"the coverage record {uri} is not readable: {error}",
            uri=uri,
            hint="delete it to start the record afresh (the next run covers its look-back)",
        ) from error
    return Coverage(hunt_id=hunt_id, intervals=intervals)


def _dump(coverage: Coverage) -> bytes:
    payload = {
        "hunt_id": coverage.hunt_id,
        "intervals": [[start.isoformat(), stop.isoformat()] for start, stop in coverage.intervals],
    }
    return json.dumps(payload, indent=1).encode()


def record_coverage(store: ObjectStore, hunt_id: str, window: Window) -> Coverage:
    """Add ``window`` to the hunt's record, conditionally: a concurrent run's window is kept."""
    key = coverage_key(hunt_id)
    uri = store.uri(key)

    def add(data: bytes | None) -> tuple[bytes, Coverage]:
        current = Coverage(hunt_id=hunt_id) if data is None else _parse(data, hunt_id, uri)
        coverage = current.add(window)
        return _dump(coverage), coverage

    return update_object(store, key, add, what="the coverage record")
