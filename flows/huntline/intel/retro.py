"""What a retro-hunt run does differently: its indicators, its patterns, its matched rows.

A run gets indicators as the ``indicators`` parameter (``{type: [values]}``, from an intel
event's payload or typed in the UI), or as the parquet reference of a large update. Each get
step's pattern is rendered with them (:mod:`huntline.intel.template`), in chunks, and the rows
fetched are tagged with the indicator they contain and its feed, so an alert can say which
indicator matched and where it came from (``{x_intel_indicator}``, ``{x_intel_feed}``).
"""

from __future__ import annotations

import pandas as pd

from huntline.intel.events import grouped
from huntline.intel.snapshot import read_indicators
from huntline.intel.template import Indicators
from huntline.storage import ObjectStore, TableRef, key_of
from huntline.tables import read_table, write_table

INDICATOR_COLUMN = "x_intel_indicator"
FEED_COLUMN = "x_intel_feed"


def run_indicators(
    store: ObjectStore, indicators: Indicators | None, parquet: str | None
) -> Indicators:
    """The run's indicators: those given, plus those of a parquet reference, by type."""
    merged: dict[str, set[str]] = {kind: set(values) for kind, values in (indicators or {}).items()}
    if parquet:
        for kind, values in grouped(read_indicators(store, parquet)).items():
            merged.setdefault(kind, set()).update(values)
    return {kind: sorted(values) for kind, values in sorted(merged.items()) if values}


def tag_matches(frame: pd.DataFrame, indicators: Indicators, feed: str) -> pd.DataFrame:
    """``frame`` with the first indicator each row contains, in any text column, and its feed."""
    kind_of = {value: kind for kind, values in indicators.items() for value in values}
    found = pd.Series(pd.NA, index=frame.index, dtype="string")
    for column in frame.columns:
        series = frame[column]
        if column in (INDICATOR_COLUMN, FEED_COLUMN) or not (
            pd.api.types.is_string_dtype(series) or series.dtype == object
        ):
            continue
        hits = series.isin(kind_of.keys()) & found.isna()
        found[hits] = [f"{kind_of[value]} {value}" for value in series[hits]]
    tagged = frame.copy()
    tagged[INDICATOR_COLUMN] = found
    tagged[FEED_COLUMN] = pd.Series(feed, index=frame.index, dtype="string").where(found.notna())
    return tagged


def tag_table(store: ObjectStore, ref: TableRef, indicators: Indicators, feed: str) -> TableRef:
    """Rewrite a fetched table in place with the indicator columns."""
    tagged = tag_matches(read_table(store, ref), indicators, feed)
    return write_table(store, key_of(store, ref.uri), tagged)
