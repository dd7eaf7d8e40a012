"""The fetch stage: data sources, STIX patterns with a time window, and STIX -> tables.

::

    source = resolve_source("file://hunts/data/bundle.json")   # or a URL, or a profile name
    async for page in source.pages("[process:name = 'cmd.exe']", window, limit=10_000):
        table = flatten(page, "process")

Contracts: every query carries the run's window as START/STOP (:mod:`.pattern`); pages are STIX
2.0 observed-data with embedded ``objects``; tables use Kestrel/firepit column names and ids
(:mod:`.flatten`), one row per entity; a paged fetch merges entities across pages with
:class:`.EntitySpool`. Errors are :class:`~huntline.errors.DataSourceError` for the source and
:class:`~huntline.errors.FetchError` for the data, and never carry credentials.
"""

from typing import TYPE_CHECKING, Any

from huntline.lazy import lazy_attribute

if TYPE_CHECKING:
    from huntline.fetch.base import DataSource, ObservedData, Window
    from huntline.fetch.sources.bundle import BundleSource
    from huntline.fetch.sources.pattern import with_window
    from huntline.fetch.sources.profiles import Profile, find_profile, known_profiles
    from huntline.fetch.sources.resolve import resolve_source
    from huntline.fetch.sources.stixshifter import StixShifterSource
    from huntline.fetch.tables.flatten import entity_types, flatten, flatten_all, flatten_arrow
    from huntline.fetch.tables.spool import EntitySpool

# Imported on first use (huntline.lazy): importing one submodule must not import the stage.
_EXPORTS = {
    "DataSource": "huntline.fetch.base",
    "ObservedData": "huntline.fetch.base",
    "Window": "huntline.fetch.base",
    "BundleSource": "huntline.fetch.sources.bundle",
    "with_window": "huntline.fetch.sources.pattern",
    "Profile": "huntline.fetch.sources.profiles",
    "find_profile": "huntline.fetch.sources.profiles",
    "known_profiles": "huntline.fetch.sources.profiles",
    "resolve_source": "huntline.fetch.sources.resolve",
    "StixShifterSource": "huntline.fetch.sources.stixshifter",
    "entity_types": "huntline.fetch.tables.flatten",
    "flatten": "huntline.fetch.tables.flatten",
    "flatten_all": "huntline.fetch.tables.flatten",
    "flatten_arrow": "huntline.fetch.tables.flatten",
    "EntitySpool": "huntline.fetch.tables.spool",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = [
    "BundleSource",
    "DataSource",
    "EntitySpool",
    "ObservedData",
    "Profile",
    "StixShifterSource",
    "Window",
    "entity_types",
    "find_profile",
    "flatten",
    "flatten_all",
    "flatten_arrow",
    "known_profiles",
    "resolve_source",
    "with_window",
]
