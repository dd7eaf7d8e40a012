"""Reading a feed through the reader its ``kind`` names in :data:`~huntline.intel.model.FEEDS`.

A reader turns a feed's configuration into indicators and nothing else: no storage, no diff,
no events. A new kind of feed is one new module with a class that satisfies
:class:`~huntline.intel.model.IntelFeed`, plus one registration: ``FEEDS.add_lazy(...)`` in
:mod:`huntline.intel.model`, or, from another package, an entry point in the group
``huntline.feeds`` naming the class (:mod:`huntline.registry`).
"""

from __future__ import annotations

from huntline.errors import IntelError
from huntline.intel.model import FEEDS, FeedConfig, Indicator, IntelFeed

__all__ = ["FEEDS", "IntelFeed", "read_feed"]


def read_feed(name: str, config: FeedConfig) -> list[Indicator]:
    """Read one feed through the reader registered for its kind; duplicates are dropped."""
    reader = FEEDS.find(config.kind)
    if reader is None:
        raise IntelError(f"intel feed {name!r}: {FEEDS.unknown(config.kind)}", feed=name)
    unique: dict[tuple[str, str], Indicator] = {}
    for indicator in reader().read(name, config):
        unique.setdefault((indicator.type, indicator.value), indicator)
    return list(unique.values())
