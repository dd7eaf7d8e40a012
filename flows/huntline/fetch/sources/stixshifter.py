"""A data source behind a stix-shifter connector (elastic_ecs, mysql, stix_bundle over HTTP, ...).

One fetch is: resolve the profile's secrets, check the connector module, translate the windowed
pattern into native queries (a pattern may become several, e.g. one per OR branch), run each,
wait for async connectors, then page through the results and translate every page to STIX.

Facts this module is built on (stix-shifter 8.1.3):

- only the ``*_async`` transmission calls and ``translate_async`` work inside a running event
  loop; the sync ones call ``run_until_complete`` on it;
- connectors report failure as ``{"success": False, "error": ..., "code": ...}``, not by raising
  (see :mod:`.retry` for which failures are retried);
- paging is ``offset``/``length``, but elastic_ecs ignores the offset and pages by search_after
  in ``metadata``, so the ``metadata`` of every answer goes back with the next call;
- connectors cut a query at ``options.result_limit`` (10,000 by default) without saying so, so a
  step's ``limit`` becomes the query's result_limit, and a result of exactly result_limit rows is
  logged as probably cut;
- ``translate(..., "results", ...)`` takes the identity dict and the list of raw results as
  Python objects and returns a bundle dict;
- a connector may bind the window to part of the query only (mysql: ``a OR b AND (time)``), so
  every page is cut to the window (:mod:`.timebox`) and what was dropped is counted and logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stix_shifter.stix_translation.stix_translation import StixTranslation
from stix_shifter.stix_transmission.stix_transmission import StixTransmission

from huntline.errors import DataSourceError, FetchError
from huntline.fetch import tally
from huntline.fetch.base import ObservedData, Window, page_size_or
from huntline.fetch.sources import json_keys
from huntline.fetch.sources.bundle import observation_or_none
from huntline.fetch.sources.connectors import (
    REREADS_EVERY_PAGE,
    connector_error,
    default_page_size,
    module_name,
    option_spec,
)
from huntline.fetch.sources.pattern import stix_timestamp, with_window
from huntline.fetch.sources.profiles import Profile
from huntline.fetch.sources.retry import HINTS, NO_RETRY, Caller, Problem, RetryPolicy
from huntline.fetch.sources.secrets import SecretLoader, resolve_secrets
from huntline.fetch.sources.timebox import asked_window, in_window
from huntline.fetch.stix import matcher_patches

log = logging.getLogger(__name__)

IDENTITY_NAMESPACE = uuid.UUID("5d6b1c9e-2f0a-4a57-9f1e-6c1b0d6f7a01")
FAILED_STATES = frozenset({"ERROR", "CANCELED", "CANCELLED"})
#: Pages after which a connector that re-reads its whole result per page is pointed out.
REREAD_WARNING_PAGES = 5


class StixShifterSource:
    """A :class:`~huntline.fetch.base.DataSource` served by a stix-shifter connector module.

    Nothing is contacted, and no secret is loaded, until :meth:`pages` or :meth:`open` runs.

    Args:
        profile: The profile, possibly with ``prefect-secret://`` references still in it.
        poll_interval: Seconds between status polls of an async connector's search.
        timeout: Seconds an async search may run before it is abandoned (per native query).
        call_timeout: Seconds a single connector call may take (a timeout is retried).
        retry: Retry policy for transient failures (default: 4 attempts, backoff from 1 s).
        secret_loader: Loads a Secret block by name (default: the installed one,
            :func:`~huntline.fetch.sources.secrets.load_secret`).
    """

    def __init__(
        self,
        profile: Profile,
        *,
        poll_interval: float = 1.0,
        timeout: float = 600.0,
        call_timeout: float = 300.0,
        retry: RetryPolicy | None = None,
        secret_loader: SecretLoader | None = None,
    ) -> None:
        self.name = profile.name
        self.profile = profile
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.retry = retry or RetryPolicy()
        self.secret_loader = secret_loader

    def describe(self) -> str:
        """Connector and address; URL user info is dropped, credentials are never included."""
        connection = self.profile.connection
        url, host = connection.get("url"), connection.get("host")
        if isinstance(url, str) and url:
            where = redact_url(url)
        elif isinstance(host, str | int) and host:
            port = connection.get("port")
            where = f"{host}:{port}" if isinstance(port, str | int) and port else str(host)
        else:
            where = ""
        return f"{self.profile.connector} {where}".strip()

    def __repr__(self) -> str:
        return f"StixShifterSource({self.name!r}, {self.describe()!r})"

    async def open(self, *, limit: int | None = None, retry: RetryPolicy | None = None) -> Session:
        """Resolve secrets and check the connector; the session makes the connector calls.

        Raises:
            DataSourceError: A secret cannot be loaded, or the connector is misnamed, not
                installed or broken.
        """
        profile, loaded = await resolve_secrets(self.profile, self.secret_loader)
        problem = connector_error(profile.connector, source=self.name)
        if problem is not None:
            raise problem
        if profile.connector == "stix_bundle":
            matcher_patches.install_connector()  # HTTP bundles matched by huntline.patterns
        options = _query_options(profile, limit)
        connection = {**profile.connection, "options": options}
        caller = Caller(
            self.name,
            self.describe(),
            secrets=[*_strings(profile.config), *_url_secrets(connection), *loaded],
            policy=retry or self.retry,
            call_timeout=self.call_timeout,
        )
        transmission = StixTransmission(profile.connector, connection, profile.config)
        return Session(self, replace(profile, connection=connection), transmission, caller)

    async def pages(
        self,
        pattern: str,
        window: Window,
        *,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[ObservedData]]:
        """Yield pages of observed-data; see :meth:`DataSource.pages`. Without a
        ``page_size``, the connector's own (:func:`.connectors.default_page_size`)."""
        page_size = page_size_or(page_size, default_page_size(self.profile.connector))
        session = await self.open(limit=limit)
        queries = await session.translate_query(with_window(pattern, window))
        remaining = limit
        asked = asked_window(pattern, window)
        outside = 0
        try:
            for query in queries:
                if remaining is not None and remaining <= 0:
                    return
                async for page, raw_count in session.run(query, page_size, remaining):
                    if remaining is not None:
                        remaining -= raw_count
                    if asked is not None:
                        page, dropped = in_window(page, asked)
                        outside += dropped
                    if page:
                        yield page
        finally:
            if asked is not None:
                self._report_outside(outside, asked)

    def _report_outside(self, outside: int, window: Window) -> None:
        """Count and log the observations the connector returned outside ``window``."""
        if not outside:
            return
        tally.count(f"{tally.OUTSIDE_WINDOW}{self.name}", outside)
        log.warning(
            "%s: the %s connector returned %d observations outside the window %s to %s "
            "(it did not apply the window to every part of the query); they were dropped",
            self.name,
            self.profile.connector,
            outside,
            stix_timestamp(window.start),
            stix_timestamp(window.stop),
        )


@dataclass
class Session:
    """One source's profile with its secrets resolved, ready to call; not safe to log."""

    source: StixShifterSource
    profile: Profile
    transmission: StixTransmission
    caller: Caller

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.profile.connection.get("options") or {})

    async def ping(self) -> None:
        """Ask the connector whether the source is reachable and accepts the credentials."""
        await self.caller.call("ping", self.transmission.ping_async)

    async def translate_query(self, pattern: str) -> list[Any]:
        answer = await self.caller.call(
            "query translation",
            lambda: StixTranslation().translate_async(
                self.profile.connector, "query", "{}", pattern, self.options
            ),
        )
        queries = answer.get("queries") if isinstance(answer, dict) else None
        if not isinstance(queries, list):
            raise self.caller.error("query translation", answer)
        log.debug("%s: %d native queries for %s", self.source.name, len(queries), pattern)
        return queries

    async def run(
        self, query: Any, page_size: int, limit: int | None
    ) -> AsyncIterator[tuple[list[ObservedData], int]]:
        """Run one native query and yield ``(observed-data page, raw result count)``."""
        started = await self.caller.call("query", lambda: self.transmission.query_async(query))
        search_id = started["search_id"]
        metadata = started.get("metadata")
        is_async = self.transmission.is_async() is True
        try:
            if is_async:
                await self._wait(search_id, metadata)
            fetched = 0
            async for data in self._raw_pages(search_id, metadata, page_size, limit):
                fetched += len(data)
                yield await self.translate_results(data), len(data)
            self._warn_if_cut(fetched, limit)
        finally:
            if is_async:
                await self._delete(search_id)

    async def _raw_pages(
        self, search_id: Any, metadata: Any, page_size: int, limit: int | None
    ) -> AsyncIterator[list[Any]]:
        """Raw result pages; stops on an empty or short page, or at ``limit``. Each answer's
        ``metadata`` goes back with the next call (elastic_ecs pages by it)."""
        offset = pages = 0
        while limit is None or offset < limit:
            length = page_size if limit is None else min(page_size, limit - offset)
            results = functools.partial(
                self.transmission.results_async, search_id, offset, length, metadata
            )
            reading = json_keys.READING.set(self._bundle_name())
            try:
                answer = await self.caller.call("results", results)
            finally:
                json_keys.READING.reset(reading)
            data = answer.get("data") or []
            metadata = answer.get("metadata", metadata)
            if not data:
                return
            data = data[:length]  # some connectors ignore length; honour limit anyway
            offset += len(data)
            pages += 1
            if pages == REREAD_WARNING_PAGES:
                self._warn_if_rereading(page_size)
            yield data
            if len(data) < length:
                return

    async def _wait(self, search_id: Any, metadata: Any) -> None:
        """Poll an async connector's search until it completes, fails or times out, logging
        its progress whenever it changes."""
        name, timeout = self.source.name, self.source.timeout
        started = time.monotonic()
        last_progress: Any = None
        while True:
            status = await self.caller.call(
                "status", lambda: self.transmission.status_async(search_id, metadata)
            )
            state = str(status.get("status", "")).upper()
            progress = status.get("progress")
            if progress != last_progress:
                log.info("%s: search %s, %s%% done", name, state.lower() or "running", progress)
                last_progress = progress
            if state == "COMPLETED":
                return
            if state in FAILED_STATES:
                raise self.caller.error(f"search ({state.lower()})", status)
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                raise DataSourceError(
                    f"data source {name!r} ({self.source.describe()}): search did not complete "
                    f"within {timeout:g} s (last status {state or 'unknown'}, "
                    f"{progress if progress is not None else '?'}% done)",
                    source=name,
                    step="status",
                    problem=str(Problem.TIMEOUT),
                    hint=HINTS[Problem.TIMEOUT],
                )
            await asyncio.sleep(self.source.poll_interval)

    async def _delete(self, search_id: Any) -> None:
        """Free the search on the source; a failure here must not hide the real outcome."""
        once = replace(self.caller, policy=NO_RETRY)
        try:
            await once.call("delete", lambda: self.transmission.delete_async(search_id))
        except DataSourceError as error:
            log.warning("%s", error.message)

    async def translate_results(self, data: list[Any]) -> list[ObservedData]:
        bundle = await self.caller.call(
            "results translation",
            lambda: StixTranslation().translate_async(
                self.profile.connector, "results", _identity(self.source.name), data, self.options
            ),
        )
        objects = bundle.get("objects") if isinstance(bundle, dict) else None
        if not isinstance(objects, list):
            raise FetchError(
                f"data source {self.source.name!r}: results translation returned no STIX bundle",
                source=self.source.name,
            )
        observed = [obj for obj in map(observation_or_none, objects) if obj is not None]
        if data and not observed:
            log.warning(
                "%s: %d results translated to no observed-data; check the connector's mapping",
                self.source.name,
                len(data),
            )
        return observed

    def _bundle_name(self) -> str | None:
        """The URL of the bundle the ``stix_bundle`` connector reads (no credentials), for
        :mod:`.json_keys`; None for other connectors."""
        url = self.profile.connection.get("url")
        if self.profile.connector != "stix_bundle" or not isinstance(url, str):
            return None
        return redact_url(url)

    def _warn_if_rereading(self, page_size: int) -> None:
        if module_name(self.profile.connector) in REREADS_EVERY_PAGE:
            log.warning(
                "%s: the %s connector reads the whole result again for every page "
                "(%d pages of %d so far); a page_size near the expected number of results "
                "makes this fetch faster",
                self.source.name,
                self.profile.connector,
                REREAD_WARNING_PAGES,
                page_size,
            )

    def _warn_if_cut(self, fetched: int, limit: int | None) -> None:
        cap = self.options.get("result_limit") or option_spec(
            self.profile.connector, "result_limit"
        ).get("default")
        if isinstance(cap, int) and fetched == cap and (limit is None or fetched < limit):
            log.warning(
                "%s: the query returned exactly result_limit=%d results and was probably cut "
                "by the connector; set a larger connection.options.result_limit or a limit",
                self.source.name,
                cap,
            )


def _query_options(profile: Profile, limit: int | None) -> dict[str, Any]:
    """The connection options for one fetch: the step's limit becomes the result_limit."""
    raw = profile.connection.get("options", {})
    options = dict(raw) if isinstance(raw, dict) else {}
    if limit is not None and "result_limit" not in options:
        spec = option_spec(profile.connector, "result_limit")
        if spec:
            options["result_limit"] = min(limit, int(spec.get("max", limit)))
    return options


def _identity(name: str) -> dict[str, Any]:
    """The identity stix-shifter stamps as ``created_by_ref``; stable per source name."""
    return {
        "type": "identity",
        "id": f"identity--{uuid.uuid5(IDENTITY_NAMESPACE, name)}",
        "name": name,
        "identity_class": "events",
    }


def redact_url(url: str) -> str:
    """``url`` without user name and password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _url_secrets(connection: dict[str, Any]) -> list[str]:
    url = connection.get("url")
    if not isinstance(url, str):
        return []
    parts = urlsplit(url)
    return [secret for secret in (parts.password,) if secret]
