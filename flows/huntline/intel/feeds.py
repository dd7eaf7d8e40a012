"""The IntelFeed plug-in point: one reader per feed ``kind``, in an explicit registry.

A reader turns a feed's configuration into indicators and nothing else: no storage, no diff,
no events. A new kind of feed is one new module with a class that satisfies :class:`IntelFeed`,
plus one line in :data:`FEEDS`.
"""

from __future__ import annotations

from typing import Protocol

from huntline.errors import IntelError
from huntline.intel.lists import CsvFeed, ListFeed
from huntline.intel.model import FeedConfig, Indicator
from huntline.intel.stix import StixFeed
from huntline.intel.taxii import TaxiiFeed


class IntelFeed(Protocol):
    """Reads one kind of feed."""

    kind: str

    def read(self, name: str, config: FeedConfig) -> list[Indicator]:
        """Every indicator the feed publishes now.

        Raises:
            IntelError: the feed is unreachable or what it published is malformed.
        """
        ...


# The registry: a feed's ``kind`` -> its reader.
FEEDS: dict[str, IntelFeed] = {
    reader.kind: reader for reader in (StixFeed(), TaxiiFeed(), CsvFeed(), ListFeed())
}


def read_feed(name: str, config: FeedConfig) -> list[Indicator]:
    """Read one feed through the reader registered for its kind; duplicates are dropped."""
    reader = FEEDS.get(config.kind)
    if reader is None:
        raise IntelError(
            f"intel feed {name!r}: unknown kind {config.kind!r}",
            hint=f"the kinds are: {', '.join(sorted(FEEDS))}",
            feed=name,
        )
    unique: dict[tuple[str, str], Indicator] = {}
    for indicator in reader.read(name, config):
        unique.setdefault((indicator.type, indicator.value), indicator)
    return list(unique.values())
