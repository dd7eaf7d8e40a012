"""Each feed's last good snapshot in object storage, and what is new against it.

Layout below the storage root::

    intel/<feed>/snapshot.parquet          every indicator the feed published at the last good pull
    intel/<feed>/new/<UTC stamp>.parquet   the indicators that pull found new

The new indicators are written before the snapshot moves on, so a pull that dies in between
reports them again next time rather than never (at least once, which the alert ledger absorbs).
A failed pull writes nothing, so the last good snapshot stays. The snapshot moves on by the
store's compare-and-swap (:func:`huntline.storage.update_object`): two pulls of one feed that
overlap (a scheduled watch beside ``huntline intel pull``) each diff against the snapshot they
replace, so neither reports as new what the other already recorded.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pyarrow as pa

from huntline.errors import StorageError
from huntline.intel.model import Indicator
from huntline.storage import ObjectStore, TableRef, update_object
from huntline.tables import parquet_bytes, parquet_table, read_table, write_table

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
    return _pairs(store.read_versioned(key)[0], store.uri(key))


def _pairs(data: bytes | None, uri: str) -> set[tuple[str, str]]:
    if data is None:
        return set()
    try:
        frame = parquet_table(data).to_pandas()
        return set(zip(frame["type"].astype(str), frame["value"].astype(str), strict=True))
    except (pa.ArrowException, KeyError, OSError) as error:
        raise StorageError(
            f"the intel snapshot {uri} is not readable: {error}",
            uri=uri,
            hint="delete it to start afresh (the next pull reports every indicator as new)",
        ) from error


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

    Returns the new indicators and their table (None when nothing is new). If another pull
    moved the snapshot meanwhile, the diff is made again against its snapshot; the new
    indicators' key depends only on ``now``, so that rewrite replaces the first.
    """
    key = snapshot_key(feed)
    uri = store.uri(key)

    def diff(data: bytes | None) -> tuple[bytes | None, tuple[list[Indicator], TableRef | None]]:
        known = _pairs(data, uri)
        new = [i for i in current if (i.type, i.value) not in known]
        ref = write_table(store, new_key(feed, now), frame_of(new)) if new else None
        moved = bool(new) or len(known) != len(current)
        snapshot = pa.Table.from_pandas(frame_of(current), preserve_index=False)
        return (parquet_bytes(snapshot) if moved else None), (new, ref)

    return update_object(store, key, diff, what="the intel snapshot")
