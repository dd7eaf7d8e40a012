"""Each feed's last good snapshot in object storage, and what is new against it.

Layout below the storage root::

    intel/<feed>/snapshot.parquet          every indicator the feed published at the last good pull
    intel/<feed>/new/<UTC stamp>.parquet   the indicators that pull found new

The new indicators are written before the snapshot moves on, so a pull that dies in between
reports them again next time rather than never (at least once, which the alert ledger absorbs).
A failed pull writes nothing, so the last good snapshot stays.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from huntline.intel.model import Indicator
from huntline.storage import ObjectStore, TableRef
from huntline.tables import read_table, write_table

COLUMNS = ["type", "value", "feed", "source_id"]


def snapshot_key(feed: str) -> str:
    return f"intel/{feed}/snapshot.parquet"


def new_key(feed: str, stamp: datetime) -> str:
    return f"intel/{feed}/new/{stamp.strftime('%Y%m%dT%H%M%S.%fZ')}.parquet"


def frame_of(indicators: list[Indicator]) -> pd.DataFrame:
    return pd.DataFrame(
        [indicator.model_dump() for indicator in indicators], columns=COLUMNS, dtype="string"
    )


def load_snapshot(store: ObjectStore, feed: str) -> set[tuple[str, str]]:
    """The (type, value) pairs of the feed's last good snapshot; empty before the first pull."""
    key = snapshot_key(feed)
    if not store.exists(key):
        return set()
    frame = read_table(store, store.uri(key))
    return set(zip(frame["type"].astype(str), frame["value"].astype(str), strict=True))


def read_indicators(store: ObjectStore, uri: str) -> list[Indicator]:
    """The indicators stored at ``uri`` (a ``new`` or snapshot parquet)."""
    frame = read_table(store, uri)
    return [
        Indicator(
            type=str(row.type),
            value=str(row.value),
            feed=str(row.feed),
            source_id=str(row.source_id),
        )
        for row in frame.itertuples(index=False)
    ]


def record_pull(
    store: ObjectStore, feed: str, current: list[Indicator], now: datetime
) -> tuple[list[Indicator], TableRef | None]:
    """Diff ``current`` against the snapshot, store the new ones, then move the snapshot on.

    Returns the new indicators and their table (None when nothing is new).
    """
    known = load_snapshot(store, feed)
    new = [i for i in current if (i.type, i.value) not in known]
    ref = write_table(store, new_key(feed, now), frame_of(new)) if new else None
    if new or len(known) != len(current):
        write_table(store, snapshot_key(feed), frame_of(current))
    return new, ref
