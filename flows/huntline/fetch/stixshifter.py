"""A data source behind a stix-shifter connector (elastic_ecs, mysql, stix_bundle over HTTP, ...).

One fetch is: translate the windowed pattern into native queries (a pattern may become several,
e.g. one per OR branch), run each, wait for async connectors, then page through the results and
translate every page to STIX observed-data.

Facts this module is built on (stix-shifter 8.1.3):

- only the ``*_async`` transmission calls and ``translate_async`` work inside a running event
  loop; the sync ones call ``run_until_complete`` on it;
- connectors report failure as ``{"success": False, "error": ..., "code": ...}``, not by raising;
- paging is ``offset``/``length``, but elastic_ecs ignores the offset and pages by search_after
  in ``metadata``, so the ``metadata`` of every answer goes back with the next call;
- ``translate(..., "results", ...)`` takes the identity dict and the list of raw results as
  Python objects and returns a bundle dict.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stix_shifter.stix_translation.stix_translation import StixTranslation
from stix_shifter.stix_transmission.stix_transmission import StixTransmission

from huntline.errors import DataSourceError, FetchError
from huntline.fetch.base import ObservedData, Window
from huntline.fetch.pattern import with_window
from huntline.fetch.profiles import Profile

log = logging.getLogger(__name__)

IDENTITY_NAMESPACE = uuid.UUID("5d6b1c9e-2f0a-4a57-9f1e-6c1b0d6f7a01")
_HINTS = {
    "service_unavailable": "check that the data source is running and reachable from this host",
    "authentication_fail": "check the credentials in the profile's config",
    "translation_error": "check that the connector supports every object and operator used",
}


class StixShifterSource:
    """A :class:`~huntline.fetch.base.DataSource` served by a stix-shifter connector module.

    Nothing is contacted until :meth:`pages` runs.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        poll_interval: float = 1.0,
        timeout: float = 600.0,
    ) -> None:
        self.name = profile.name
        self.profile = profile
        self.poll_interval = poll_interval
        self.timeout = timeout

    def describe(self) -> str:
        """Connector and address; URL user info is dropped, credentials are never included."""
        connection = self.profile.connection
        if connection.get("url"):
            where = redact_url(str(connection["url"]))
        elif connection.get("host"):
            port = connection.get("port")
            where = f"{connection['host']}:{port}" if port else str(connection["host"])
        else:
            where = ""
        return f"{self.profile.connector} {where}".strip()

    def __repr__(self) -> str:
        return f"StixShifterSource({self.name!r}, {self.describe()!r})"

    async def pages(
        self,
        pattern: str,
        window: Window,
        *,
        limit: int | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[list[ObservedData]]:
        """Yield pages of observed-data; see :meth:`DataSource.pages`."""
        if page_size < 1:
            raise DataSourceError(f"page_size must be at least 1, got {page_size}")
        queries = await self._translate_query(with_window(pattern, window))
        transmission = StixTransmission(
            self.profile.connector, self.profile.connection, self.profile.config
        )
        remaining = limit
        for query in queries:
            if remaining is not None and remaining <= 0:
                return
            async for page, raw_count in self._run(transmission, query, page_size, remaining):
                if remaining is not None:
                    remaining -= raw_count
                if page:
                    yield page

    async def _translate_query(self, pattern: str) -> list[Any]:
        answer = await self._call(
            "query translation",
            StixTranslation().translate_async(
                self.profile.connector, "query", "{}", pattern, self._options()
            ),
        )
        queries = answer.get("queries") if isinstance(answer, dict) else None
        if not isinstance(queries, list):
            raise self._error("query translation", answer)
        log.debug("%s: %d native queries for %s", self.name, len(queries), pattern)
        return queries

    async def _run(
        self, transmission: StixTransmission, query: Any, page_size: int, limit: int | None
    ) -> AsyncIterator[tuple[list[ObservedData], int]]:
        """Run one native query and yield ``(observed-data page, raw result count)``."""
        started = await self._call("query", transmission.query_async(query))
        if not started.get("success"):
            raise self._error("query", started)
        search_id = started["search_id"]
        metadata = started.get("metadata")
        is_async = transmission.is_async()
        if isinstance(is_async, dict):  # the connector module failed to load
            raise self._error("connector setup", is_async)
        try:
            if is_async:
                await self._wait(transmission, search_id, metadata)
            offset = 0
            fetched = 0
            while limit is None or fetched < limit:
                length = page_size if limit is None else min(page_size, limit - fetched)
                answer = await self._call(
                    "results",
                    transmission.results_async(search_id, offset, length, metadata),
                )
                if not answer.get("success"):
                    raise self._error("results", answer)
                data = answer.get("data") or []
                metadata = answer.get("metadata", metadata)
                if not data:
                    return
                data = data[:length]  # some connectors ignore length; honour limit anyway
                fetched += len(data)
                offset += len(data)
                yield await self._translate_results(data), len(data)
                if len(data) < length:
                    return
        finally:
            if is_async:
                await self._call("delete", transmission.delete_async(search_id))

    async def _wait(self, transmission: StixTransmission, search_id: Any, metadata: Any) -> None:
        """Poll an async connector until its search completes, fails or times out."""
        deadline = time.monotonic() + self.timeout
        while True:
            status = await self._call("status", transmission.status_async(search_id, metadata))
            if not status.get("success"):
                raise self._error("status", status)
            state = str(status.get("status", "")).upper()
            if state == "COMPLETED":
                return
            if state in {"ERROR", "CANCELED", "CANCELLED"}:
                raise self._error(f"search ({state.lower()})", status)
            if time.monotonic() > deadline:
                raise DataSourceError(
                    f"data source {self.name!r} ({self.describe()}): search did not complete "
                    f"within {self.timeout:.0f} s (last status {state or 'unknown'})",
                    source=self.name,
                )
            await asyncio.sleep(self.poll_interval)

    async def _translate_results(self, data: list[Any]) -> list[ObservedData]:
        bundle = await self._call(
            "results translation",
            StixTranslation().translate_async(
                self.profile.connector, "results", self._identity(), data, self._options()
            ),
        )
        objects = bundle.get("objects") if isinstance(bundle, dict) else None
        if not isinstance(objects, list):
            if isinstance(bundle, dict) and "success" in bundle:
                raise self._error("results translation", bundle)
            raise FetchError(
                f"data source {self.name!r}: results translation returned no STIX bundle",
                source=self.name,
            )
        return [obj for obj in objects if obj.get("type") == "observed-data"]

    async def _call(self, step: str, awaitable: Any) -> Any:
        """Await a stix-shifter call; anything it raises becomes a DataSourceError."""
        try:
            return await awaitable
        except Exception as error:
            raise DataSourceError(
                f"data source {self.name!r} ({self.describe()}): {step} failed: "
                f"{self._redact(str(error))}",
                source=self.name,
                step=step,
            ) from error

    def _error(self, step: str, answer: Any) -> DataSourceError:
        """The error for a ``success: False`` answer, in the connector's own words."""
        message = answer.get("error", answer) if isinstance(answer, dict) else answer
        code = answer.get("code") if isinstance(answer, dict) else None
        return DataSourceError(
            f"data source {self.name!r} ({self.describe()}): {step} failed: "
            f"{self._redact(str(message))}",
            source=self.name,
            step=step,
            code=code,
            hint=_HINTS.get(str(code)),
        )

    def _options(self) -> dict[str, Any]:
        options = self.profile.connection.get("options", {})
        return dict(options) if isinstance(options, dict) else {}

    def _identity(self) -> dict[str, Any]:
        """The identity stix-shifter stamps as ``created_by_ref``; stable per source name."""
        return {
            "type": "identity",
            "id": f"identity--{uuid.uuid5(IDENTITY_NAMESPACE, self.name)}",
            "name": self.name,
            "identity_class": "events",
        }

    def _redact(self, text: str) -> str:
        """Blank out every credential-like string of the profile that a message might echo."""
        for secret in _strings(self.profile.config) + _url_secrets(self.profile.connection):
            if len(secret) >= 3:
                text = text.replace(secret, "***")
        return text


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
