"""Turn the source string of a ``get`` step into a :class:`DataSource`, through a registry of
source kinds keyed by scheme.

The built-in kinds, so a hunt book reads the same as a Kestrel hunt:

- ``file://PATH``: a local STIX bundle (PATH absolute, or relative to the current directory);
- ``http://`` / ``https://``: a bundle served over HTTP, through stix-shifter's stix_bundle
  connector, which is also what Kestrel does with such a URL;
- anything without a scheme: the name of a stix-shifter profile (see :mod:`.profiles`).

A new kind of source is one module with a :class:`DataSource` and one registration: a
:func:`register` call below, or, from another package, an entry point in the group
``huntline.sources`` named after the scheme and naming the :class:`SourceKind`
(:mod:`huntline.registry`); ``tests/integration/test_datasource_contract.py`` then runs the
shared contract on it.
Resolving never contacts the source, so compile-time checks and plans can call it freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huntline.errors import DataSourceError
from huntline.fetch.base import DataSource
from huntline.fetch.sources.bundle import BundleSource
from huntline.fetch.sources.profiles import Profile, find_profile
from huntline.fetch.sources.stixshifter import StixShifterSource, redact_url
from huntline.registry import Registry
from huntline.schemes import split_scheme

#: Opens the source a string names: ``(source string, profiles file or None)``.
Opener = Callable[[str, Path | None], DataSource]


@dataclass(frozen=True)
class SourceKind:
    """One kind of data source.

    Attributes:
        name: What the kind is called in diagnostics (``bundle``, ``stix-shifter``, ...).
        schemes: The URI schemes it takes, lower case, without ``://``; empty for the kind that
            takes plain names (profiles).
        open: Builds the source from the string, without contacting it.
        usage: How a book names such a source, for hints.
    """

    name: str
    schemes: tuple[str, ...]
    open: Opener
    usage: str


#: Source kinds by scheme ("" for plain names).
KINDS: Registry[SourceKind] = Registry(
    "data source scheme",
    "huntline.sources",
    accepts=lambda kind: isinstance(kind, SourceKind),
    display=lambda scheme: f"{scheme}://" if scheme else "(a profile name)",
)


def register(kind: SourceKind) -> SourceKind:
    """Add ``kind`` under each of its schemes (or as the plain-name kind); a scheme already
    taken is an error."""
    for scheme in kind.schemes or ("",):
        KINDS.add(scheme, kind)
    return kind


def kind_of(source: str) -> SourceKind:
    """The kind of source ``source`` names.

    Raises:
        DataSourceError: ``source`` is empty or has a scheme no kind takes.
    """
    source = source.strip()
    if not source:
        raise DataSourceError("empty data source", hint=f"use {_usages()}")
    scheme = split_scheme(source)[0]
    kind = KINDS.find(scheme)
    if kind is None:
        raise DataSourceError(
            f"unsupported data source scheme in {redact_url(source)!r}: {KINDS.unknown(scheme)}",
            source=redact_url(source),
            hint=f"use {_usages()}",
        )
    return kind


def resolve_source(source: str, *, profiles_file: Path | None = None) -> DataSource:
    """Return the data source that ``source`` names.

    Raises:
        DataSourceError: ``source`` is empty, has an unknown scheme, or names an unknown or
            malformed profile.
    """
    return kind_of(source).open(source.strip(), profiles_file)


def _usages() -> str:
    usages = dict.fromkeys(kind.usage for _, kind in KINDS.items())
    return ", ".join(usages)


def _bundle(source: str, profiles_file: Path | None) -> DataSource:
    path = source[len("file://") :]
    if not path:
        raise DataSourceError(f"data source {source!r} has no path", source=source)
    return BundleSource(Path(path), name=source)


def _http_bundle(source: str, profiles_file: Path | None) -> DataSource:
    connection = {"url": source}
    profile = Profile(
        name=redact_url(source),
        connector="stix_bundle",
        connection=connection,
        config={},
        origin="url",
    )
    return StixShifterSource(profile)


def _profile(source: str, profiles_file: Path | None) -> DataSource:
    return StixShifterSource(find_profile(source, profiles_file=profiles_file))


BUNDLE = register(SourceKind("bundle", ("file",), _bundle, "file://PATH"))
HTTP_BUNDLE = register(
    SourceKind("stix-shifter", ("http", "https"), _http_bundle, "http(s)://URL of a STIX bundle")
)
PROFILE = register(SourceKind("stix-shifter", (), _profile, "a stix-shifter profile name"))
