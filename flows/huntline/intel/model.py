"""Indicators and intel feed definitions (``hunts/intel.yaml``).

An indicator is a (type, value) pair with the feed it came from. Types are short names a hunt
book can template (``{{ intel.ipv4 }}``); :data:`STIX_PATHS` maps each to the STIX object path a
feed's patterns use for it, so a STIX indicator ``[file:hashes.'SHA-256' = '…']`` becomes a
``sha256`` indicator and back.

``hunts/intel.yaml`` looks like::

    watch: {cron: "*/15 * * * *", timezone: UTC}   # when intel-watch pulls (the default)
    feeds:
      sample:                     # the feed's name: events go out on huntline.intel.sample
        kind: stix                # stix | taxii | csv | list
        path: hunts/data/intel/sample_indicators.json   # or url: https://…
      partner:
        kind: taxii
        url: https://taxii.example.org/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/
        username_env: PARTNER_TAXII_USER                 # credentials come from the environment
        password_env: PARTNER_TAXII_PASSWORD
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huntline.book.indicators import INDICATOR_TYPES as INDICATOR_TYPES
from huntline.book.indicators import STIX_PATHS as STIX_PATHS
from huntline.book.schedule import Cron
from huntline.errors import IntelError
from huntline.intel.paths import DEFAULT_FEEDS_FILE as DEFAULT_FEEDS_FILE
from huntline.registry import Registry
from huntline.yamlfile import load_yaml

FEED_NAME = r"^[a-z0-9][a-z0-9_-]*$"
#: How often the intel-watch deployment pulls the feeds unless ``watch:`` says otherwise.
# Built without validation: checking a cron imports Prefect (~1.5 s), which reading this module
# (as the CLI's parser does) must not pay for a constant known to be valid.
DEFAULT_WATCH = Cron.model_construct(cron="*/15 * * * *", timezone="UTC")

_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$", re.IGNORECASE)


class Indicator(BaseModel):
    """One indicator of compromise, as a feed published it."""

    model_config = ConfigDict(frozen=True)

    type: str
    value: str
    feed: str
    source_id: str = ""  # the STIX indicator id, or the CSV/list line, for tracing back


def infer_type(value: str) -> str | None:
    """The indicator type of a bare value (from a plain list), or None if it is not clear."""
    text = value.strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return "ipv4" if address.version == 4 else "ipv6"
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) in _HASH_LENGTHS:
        return _HASH_LENGTHS[len(text)]
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        return "url"
    if "@" in text and _DOMAIN.match(text.rsplit("@", 1)[1]):
        return "email"
    if _DOMAIN.match(text):
        return "domain"
    return None


class IntelFeed(Protocol):
    """Reads one kind of feed; registered (as a class) in :data:`FEEDS` under its ``kind``."""

    kind: str

    def read(self, name: str, config: FeedConfig) -> list[Indicator]:
        """Every indicator the feed publishes now.

        Raises:
            IntelError: the feed is unreachable or what it published is malformed.
        """
        ...


def _is_reader(item: object) -> bool:
    return isinstance(item, type) and callable(getattr(item, "read", None))


#: The feed readers by ``kind``. The built-ins are named, not imported, so that this module (which
#: the readers import) can check a feed's kind without importing the readers.
FEEDS: Registry[type[IntelFeed]] = Registry("intel feed kind", "huntline.feeds", accepts=_is_reader)
FEEDS.add_lazy("stix", "huntline.intel.stix:StixFeed")
FEEDS.add_lazy("taxii", "huntline.intel.taxii:TaxiiFeed")
FEEDS.add_lazy("csv", "huntline.intel.lists:CsvFeed")
FEEDS.add_lazy("list", "huntline.intel.lists:ListFeed")


class FeedConfig(BaseModel):
    """One feed of ``hunts/intel.yaml``; ``kind`` picks the reader in the feed registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(
        description="stix: a STIX 2.1 bundle; taxii: a TAXII 2.1 collection; csv: columns "
        "type,value; list: one indicator per line; or the kind of an installed plug-in "
        "(entry-point group huntline.feeds)"
    )
    path: str | None = Field(default=None, description="A local file (relative to the repo)")
    url: str | None = Field(default=None, description="An http(s) URL, or the TAXII collection")
    type: str | None = Field(
        default=None, description="csv/list: the type of every value, instead of inferring it"
    )
    username_env: str | None = Field(default=None, description="Env var holding the user name")
    password_env: str | None = Field(default=None, description="Env var holding the password")
    timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the feed")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in FEEDS:
            raise ValueError(FEEDS.unknown(kind))
        return kind

    @model_validator(mode="after")
    def _one_location(self) -> FeedConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of path: or url:")
        if self.kind == "taxii" and self.url is None:
            raise ValueError("a taxii feed needs url: (the collection's URL)")
        if self.type is not None and self.type not in STIX_PATHS:
            raise ValueError(f"type must be one of {', '.join(INDICATOR_TYPES)}, got {self.type!r}")
        return self

    @property
    def location(self) -> str:
        return self.url or str(self.path)


class FeedsFile(BaseModel):
    """The whole ``hunts/intel.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    watch: Cron = Field(
        default=DEFAULT_WATCH,
        description="When the intel-watch deployment pulls the feeds (huntline deploy)",
    )
    feeds: dict[str, FeedConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> FeedsFile:
        for name in self.feeds:
            if not re.match(FEED_NAME, name):
                raise ValueError(
                    f"feed name {name!r} must be lower case letters, digits, '-' or '_'"
                )
        return self


def load_feeds(path: str | Path = DEFAULT_FEEDS_FILE) -> FeedsFile:
    """Read and validate the feed definitions; every problem is listed, with its field."""
    document = load_yaml(path, IntelError, "the intel feeds file")
    return document.model(FeedsFile, IntelError, "intel feeds file")


def select_feeds(feeds: FeedsFile, names: list[str] | None) -> dict[str, FeedConfig]:
    """The feeds called ``names`` (all when None); an unknown name is an error listing the known."""
    if not names:
        return dict(feeds.feeds)
    unknown = [name for name in names if name not in feeds.feeds]
    if unknown:
        raise IntelError(
            f"unknown intel feed {', '.join(map(repr, unknown))}",
            hint=f"the feeds are: {', '.join(sorted(feeds.feeds))}",
        )
    return {name: feeds.feeds[name] for name in names}
