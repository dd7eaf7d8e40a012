"""Threat intel: feeds of indicators, their snapshots, and the events that start retro-hunts."""

from typing import TYPE_CHECKING, Any

from huntline.lazy import lazy_attribute

if TYPE_CHECKING:
    from huntline.intel.events import EVENT, IntelEvent, intel_event, resource_id
    from huntline.intel.feeds import FEEDS, IntelFeed, read_feed
    from huntline.intel.model import (
        DEFAULT_FEEDS_FILE,
        INDICATOR_TYPES,
        STIX_PATHS,
        FeedConfig,
        FeedsFile,
        Indicator,
        load_feeds,
        select_feeds,
    )
    from huntline.intel.watch import FeedPull, pull_feed

# Imported on first use (huntline.lazy): importing one submodule must not import the stage.
_EXPORTS = {
    "EVENT": "huntline.intel.events",
    "IntelEvent": "huntline.intel.events",
    "intel_event": "huntline.intel.events",
    "resource_id": "huntline.intel.events",
    "FEEDS": "huntline.intel.feeds",
    "IntelFeed": "huntline.intel.feeds",
    "read_feed": "huntline.intel.feeds",
    "DEFAULT_FEEDS_FILE": "huntline.intel.model",
    "INDICATOR_TYPES": "huntline.intel.model",
    "STIX_PATHS": "huntline.intel.model",
    "FeedConfig": "huntline.intel.model",
    "FeedsFile": "huntline.intel.model",
    "Indicator": "huntline.intel.model",
    "load_feeds": "huntline.intel.model",
    "select_feeds": "huntline.intel.model",
    "FeedPull": "huntline.intel.watch",
    "pull_feed": "huntline.intel.watch",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = [
    "DEFAULT_FEEDS_FILE",
    "EVENT",
    "FEEDS",
    "INDICATOR_TYPES",
    "STIX_PATHS",
    "FeedConfig",
    "FeedPull",
    "FeedsFile",
    "Indicator",
    "IntelEvent",
    "IntelFeed",
    "intel_event",
    "load_feeds",
    "pull_feed",
    "read_feed",
    "resource_id",
    "select_feeds",
]
