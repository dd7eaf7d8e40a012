"""A local STIX 2.0 bundle as a data source (``file://PATH``).

stix-shifter's stix_bundle connector only speaks HTTP, so local bundles are matched here, with
the semantics of stix2-matcher (the library stix_bundle itself uses): every binding of the
pattern counts, not only the first. A pattern whose bindings are single observations is
evaluated locally (:mod:`huntline.patterns`, differentially tested against stix2-matcher), any
other by stix2-matcher itself (:mod:`.matcher`).

The window is applied before matching, with the semantics of a STIX START/STOP qualifier: an
observation is kept when ``[first_observed, last_observed]`` overlaps ``[start, stop)``. A
START/STOP the author wrote into the pattern is honoured by the matcher on top of that.

The file is read on every :meth:`BundleSource.pages` call, never at construction, so a source
can be built (and a plan explained) without touching the disk. When every binding of the pattern
is one observation (expressions joined by ``OR`` only: nearly every hunt), the bundle is parsed
incrementally (ijson) and matched a thousand observations at a time, so a bundle larger than
memory can be fetched; a pattern that binds several observations (``AND``, ``FOLLOWEDBY``,
``REPEATS``, ``WITHIN``) needs them all at once and reads the whole file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import ijson
import orjson
import pandas as pd

from huntline.errors import DataSourceError, FetchError
from huntline.fetch import tally
from huntline.fetch.base import DEFAULT_PAGE_SIZE, ObservedData, Window, page_size_or
from huntline.fetch.heap import collector_paused
from huntline.fetch.sources import json_keys
from huntline.fetch.sources.json_depth import MAX_DEPTH, DepthLimited, TooDeep
from huntline.fetch.sources.matcher import reference_match
from huntline.fetch.sources.pattern import binds_one_observation
from huntline.patterns import compile_pattern

#: Observations parsed and matched at a time when streaming a bundle.
STREAM_CHUNK = 1000
#: A broken bundle up to this size is parsed again whole, to name the line and column.
_REPARSE_LIMIT = 256 * 2**20


class BundleSource:
    """A :class:`~huntline.fetch.base.DataSource` reading one STIX 2.0 bundle from disk."""

    def __init__(self, path: Path, *, name: str | None = None) -> None:
        self.path = path
        self.name = name or f"file://{path}"

    def describe(self) -> str:
        return f"stix bundle file {self.path}"

    def __repr__(self) -> str:
        return f"BundleSource({str(self.path)!r})"

    async def pages(
        self,
        pattern: str,
        window: Window,
        *,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[ObservedData]]:
        """Yield pages of the bundle's observed-data that match; see :meth:`DataSource.pages`."""
        page_size = page_size_or(page_size, DEFAULT_PAGE_SIZE)
        if binds_one_observation(pattern):
            chunks: Iterable[list[ObservedData]] = stream_observed_data(self.path, STREAM_CHUNK)
        else:
            chunks = [read_observed_data(self.path)]
        matched = (
            match_all(pattern, in_window(chunk, window), source=self.name) for chunk in chunks
        )
        pages = _pages(matched, page_size, limit)
        # parsing and matching run in a worker thread, so other sources of the step go on
        while (page := await asyncio.to_thread(next, pages, None)) is not None:
            yield page


def _pages(
    matched: Iterable[list[ObservedData]], page_size: int, limit: int | None
) -> Iterator[list[ObservedData]]:
    """Regroup matched observations into pages of ``page_size``, stopping after ``limit``."""
    remaining = None if limit is None else max(limit, 0)
    pending: list[ObservedData] = []
    for found in matched:
        if remaining is not None:
            found = found[:remaining]
            remaining -= len(found)
        pending.extend(found)
        start = 0
        while len(pending) - start >= page_size:
            yield pending[start : start + page_size]
            start += page_size
        del pending[:start]
        if remaining == 0:
            break
    if pending:
        yield pending


def stream_observed_data(path: Path, chunk_size: int) -> Iterator[list[ObservedData]]:
    """The observed-data of the bundle at ``path``, ``chunk_size`` at a time, parsed as the
    file is read. Raises what :func:`read_observed_data` raises; a file that breaks part way
    raises after the chunks before the break.

    Each chunk is parsed with the garbage collector paused (:mod:`.heap`: about a quarter off
    ijson's parse); the pause ends before the chunk is yielded. Keys repeated within one object
    are counted and named once the whole file is read (:mod:`.json_keys`); a reader that stops
    early (a step's ``limit:``) stops before that check, since what was read ahead of the last
    item cannot be told apart without reading it again.
    """
    try:
        handle = path.open("rb")
    except OSError as error:
        raise _unreadable(path, error) from None
    count = 0  # observed-data so far
    seen = 0  # objects of any type so far
    colons = 0  # the colons in them, written as JSON
    with handle:
        # bounded nesting: ijson's cost grows with its square (json_depth says why)
        limited = DepthLimited(handle)
        items = ijson.items(limited, "objects.item", use_float=True)
        while True:
            chunk: list[ObservedData] = []
            parsed: list[Any] = []
            try:
                with collector_paused(keep=True):
                    for item in items:
                        seen += 1
                        parsed.append(item)
                        item = observation_or_none(item)
                        if item is not None:
                            _check_observation(path, count, item)
                            count += 1
                            chunk.append(item)
                            if len(chunk) == chunk_size:
                                break
            except UnicodeDecodeError:
                raise FetchError(
                    f"STIX bundle {path} holds an unpaired UTF-16 surrogate escape (such as "
                    f"\\udcff) near byte {handle.tell()}, which the streaming parser cannot read",
                    file=str(path),
                    hint="re-export the bundle with the unpaired surrogates replaced (U+FFFD)",
                ) from None
            except TooDeep as error:
                raise FetchError(
                    f"STIX bundle {path} is {error}",
                    file=str(path),
                    hint=f"no STIX value needs {MAX_DEPTH:,} levels: where is the file from?",
                ) from None
            except ijson.JSONError as error:
                if path.stat().st_size <= _REPARSE_LIMIT:
                    read_observed_data(path)  # raises with the line and column
                raise FetchError(
                    f"STIX bundle {path} is not valid JSON near byte {handle.tell()}: {error}",
                    file=str(path),
                ) from None
            colons += json_keys.value_colons(parsed)
            if len(chunk) < chunk_size and limited.item_colons != colons:  # the last chunk
                json_keys.report(str(path), path, top_level=False)
            if chunk:
                yield chunk
            if len(chunk) < chunk_size:
                break
    if not seen:
        read_observed_data(path)  # an empty bundle, or not a bundle at all: says which


def read_observed_data(path: Path) -> list[ObservedData]:
    """The observed-data objects of the bundle at ``path``.

    Raises:
        DataSourceError: The file cannot be read.
        FetchError: It is not JSON, not a bundle with ``objects``, or holds STIX 2.1 observations.
    """
    try:
        text = path.read_bytes()
    except OSError as error:
        raise _unreadable(path, error) from None
    try:
        with collector_paused(keep=True):
            bundle = _parsed(text)
    except orjson.JSONDecodeError as error:
        raise FetchError(
            f"STIX bundle {path}:{error.lineno}:{error.colno} is not valid JSON: {error.msg}",
            file=str(path),
            line=error.lineno,
            column=error.colno,
        ) from None
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        what = "has no 'objects' list" if isinstance(bundle, dict) else "is not a JSON object"
        raise FetchError(
            f"STIX bundle {path} {what}",
            file=str(path),
            hint='a bundle looks like {"type": "bundle", "objects": [...]}',
        )
    if json_keys.text_colons(text) != json_keys.value_colons(bundle):
        json_keys.report(str(path), text, top_level=True)
    observed = [o for o in map(observation_or_none, objects) if o is not None]
    for index, obs in enumerate(observed):
        _check_observation(path, index, obs)
    return observed


def observation_or_none(item: Any) -> ObservedData | None:
    """A bundle item as an observed-data, or None for any other object.

    An item without ``type`` that holds an ``objects`` mapping is read as an observed-data
    (a converter that forgot the type); anything else without a ``type`` (a number, a string,
    an empty dict) is skipped. Both are counted (:mod:`huntline.fetch.tally`), never dropped
    silently; other STIX objects (``identity``, ``indicator``) are skipped as they should be.
    """
    if isinstance(item, dict):
        kind = item.get("type")
        if kind == "observed-data":
            return item
        if isinstance(kind, str):
            return None
        if kind is None and isinstance(item.get("objects"), dict):
            tally.count("bundle.observed-data without type")
            return {**item, "type": "observed-data"}
    tally.count("bundle.objects")
    return None


def _parsed(text: bytes) -> Any:
    """The JSON ``text``. orjson refuses an unpaired UTF-16 surrogate escape (``\\udcff``), which
    is valid JSON and which Windows names produce; Python's ``json`` reads those bundles, and
    flattening turns the surrogates into U+FFFD."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if "surrogate" not in error.msg:
            raise
        try:
            return json.loads(text)
        except ValueError:
            raise error from None


def _unreadable(path: Path, error: OSError) -> DataSourceError:
    return DataSourceError(
        f"cannot read STIX bundle {path}: {error.strerror or error}",
        file=str(path),
        hint="file:// paths are relative to the current directory unless absolute",
    )


def _check_observation(path: Path, index: int, obs: dict[str, Any]) -> None:
    problem = _observation_problem(obs)
    if problem:
        raise FetchError(
            f"STIX bundle {path}: observed-data #{index} ({obs.get('id', 'no id')}) {problem}",
            file=str(path),
        )


def _observation_problem(obs: dict[str, Any]) -> str | None:
    if "object_refs" in obs and "objects" not in obs:
        return "is STIX 2.1 (object_refs); only STIX 2.0 bundles with embedded objects are read"
    if not isinstance(obs.get("objects"), dict):
        return "has no 'objects' mapping"
    for key in ("id", "first_observed", "last_observed"):
        if not isinstance(obs.get(key), str):
            return f"has no {key}"
    return None


def in_window(observed: list[ObservedData], window: Window) -> list[ObservedData]:
    """The observations whose time span overlaps the half-open window ``[start, stop)``."""
    if not observed:
        return []
    first = _utc([obs["first_observed"] for obs in observed])
    last = _utc([obs["last_observed"] for obs in observed])
    keep = (first < pd.Timestamp(window.stop)) & (last >= pd.Timestamp(window.start))
    return [obs for obs, kept in zip(observed, keep.tolist(), strict=True) if kept]


def _utc(stamps: list[str]) -> pd.Series:
    try:
        return pd.Series(pd.to_datetime(stamps, utc=True, format="ISO8601"))
    except (ValueError, TypeError) as error:
        raise FetchError(f"observed-data has an invalid timestamp: {error}") from None


def match_all(pattern: str, observed: list[ObservedData], *, source: str) -> list[ObservedData]:
    """Every observation that takes part in any binding of ``pattern``, in bundle order.

    A pattern whose bindings are single observations (nearly every hunt) is evaluated by
    :mod:`huntline.patterns`, vectorized over the values its paths select; any other goes to
    stix2-matcher (:mod:`.matcher`), which relates observations (AND, FOLLOWEDBY, WITHIN).
    """
    if not observed:
        return []
    try:
        if binds_one_observation(pattern):
            keep = compile_pattern(pattern).match_observations(observed)
            return [obs for obs, kept in zip(observed, keep.tolist(), strict=True) if kept]
        matched_ids = reference_match(pattern, observed)
    except Exception as error:  # the matcher raises bare exceptions for bad patterns
        raise DataSourceError(
            f"data source {source!r}: cannot match STIX pattern {pattern!r}: {error}",
            source=source,
            pattern=pattern,
        ) from error
    return [obs for obs in observed if obs["id"] in matched_ids]
