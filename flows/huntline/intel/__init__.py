"""Threat intel: feeds of indicators, their snapshots, and the events that start retro-hunts."""

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
