"""Pull one intel feed: read it, diff it against its snapshot, and say what is new.

A feed that cannot be read raises before anything is written, so it keeps its last good
snapshot and the next good pull finds everything new since then. The Prefect layer
(:mod:`huntline.prefect.intel_flow`) runs one of these per feed, so one failing feed fails
only itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from huntline.intel.events import IntelEvent, intel_event
from huntline.intel.feeds import read_feed
from huntline.intel.model import FeedConfig
from huntline.intel.snapshot import record_pull
from huntline.storage import ObjectStore


class FeedPull(BaseModel):
    """What one pull of one feed found."""

    feed: str
    status: Literal["new", "unchanged", "failed"]
    total: int = 0
    new: int = 0
    new_uri: str | None = None
    error: str | None = None
    event: IntelEvent | None = None


def pull_feed(name: str, config: FeedConfig, store: ObjectStore, now: datetime) -> FeedPull:
    """Pull one feed; raises :class:`~huntline.errors.IntelError` if it cannot be read."""
    current = read_feed(name, config)
    new, ref = record_pull(store, name, current, now)
    if ref is None:
        return FeedPull(feed=name, status="unchanged", total=len(current))
    return FeedPull(
        feed=name,
        status="new",
        total=len(current),
        new=len(new),
        new_uri=ref.uri,
        event=intel_event(name, new, ref.uri),
    )
