"""Turn the source string of a ``get`` step into a :class:`DataSource`.

Three kinds, told apart by scheme, so a hunt book reads the same as a Kestrel hunt:

- ``file://PATH``: a local STIX bundle (PATH absolute, or relative to the current directory);
- ``http://`` / ``https://``: a bundle served over HTTP, through stix-shifter's stix_bundle
  connector, which is also what Kestrel does with such a URL;
- anything else: the name of a stix-shifter profile (see :mod:`huntline.fetch.sources.profiles`).

Resolving never contacts the source, so compile-time checks and plans can call it freely.
"""

from __future__ import annotations

from pathlib import Path

from huntline.errors import DataSourceError
from huntline.fetch.base import DataSource
from huntline.fetch.sources.bundle import BundleSource
from huntline.fetch.sources.profiles import Profile, find_profile
from huntline.fetch.sources.stixshifter import StixShifterSource, redact_url


def resolve_source(source: str, *, profiles_file: Path | None = None) -> DataSource:
    """Return the data source that ``source`` names.

    Raises:
        DataSourceError: ``source`` is empty, or names an unknown or malformed profile.
    """
    source = source.strip()
    if not source:
        raise DataSourceError("empty data source", hint="use file://PATH, a URL or a profile name")
    lowered = source.lower()
    if lowered.startswith("file://"):
        path = source[len("file://") :]
        if not path:
            raise DataSourceError(f"data source {source!r} has no path", source=source)
        return BundleSource(Path(path), name=source)
    if lowered.startswith(("http://", "https://")):
        name = redact_url(source)
        profile = Profile(
            name=name,
            connector="stix_bundle",
            connection={"url": source},
            config={},
            origin="url",
        )
        return StixShifterSource(profile)
    if "://" in source:
        raise DataSourceError(
            f"unsupported data source scheme in {redact_url(source)!r}",
            source=redact_url(source),
            hint="use file://PATH, http(s)://URL of a STIX bundle, or a stix-shifter profile name",
        )
    return StixShifterSource(find_profile(source, profiles_file=profiles_file))
