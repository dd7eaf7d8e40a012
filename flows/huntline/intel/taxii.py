"""TAXII 2.1 collections, read through ``taxii2-client``.

The whole collection is read page by page (``limit``/``next``) and its indicators are kept;
the diff against the last snapshot (:mod:`huntline.intel.snapshot`) finds what is new, so a
server that ignores ``added_after`` still works. Credentials come from the environment variables
the feed names and never appear in messages.
"""

from __future__ import annotations

import os
from typing import Any

from requests.adapters import HTTPAdapter

from huntline.errors import IntelError
from huntline.intel.model import FeedConfig, Indicator
from huntline.intel.stix import indicators_of

PAGE_SIZE = 1000
#: The most objects read from one collection: a server that always answers "more" (or a
#: collection far larger than any indicator feed) fails the pull instead of filling memory.
MAX_OBJECTS = 2_000_000


def _credential(name: str, variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise IntelError(
            f"intel feed {name!r}: the environment variable {variable} is not set",
            hint=f"export {variable}=… for the worker that pulls the feed",
            feed=name,
        )
    return value


class TaxiiFeed:
    """``kind: taxii``: ``url`` is the collection's URL (``…/collections/<id>/``)."""

    kind = "taxii"

    def read(self, name: str, config: FeedConfig) -> list[Indicator]:
        import requests
        from taxii2client.exceptions import TAXIIServiceException
        from taxii2client.v21 import Collection, as_pages

        assert config.url is not None
        url = config.url if config.url.endswith("/") else config.url + "/"
        objects: list[Any] = []
        try:
            collection = Collection(
                url,
                user=_credential(name, config.username_env),
                password=_credential(name, config.password_env),
            )
            adapter = _TimeoutAdapter(config.timeout)
            collection._conn.session.mount("http://", adapter)
            collection._conn.session.mount("https://", adapter)
            for envelope in as_pages(collection.get_objects, per_request=PAGE_SIZE):
                page = envelope.get("objects", []) if isinstance(envelope, dict) else None
                if not isinstance(page, list):
                    raise IntelError(
                        f"intel feed {name!r}: {url} answered an envelope without an objects list",
                        feed=name,
                    )
                objects.extend(page)
                if len(objects) > MAX_OBJECTS:
                    raise IntelError(
                        f"intel feed {name!r}: the TAXII collection {url} holds more than "
                        f"{MAX_OBJECTS:,} objects",
                        hint="point at a collection of indicators, or filter it on the server",
                        feed=name,
                    )
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else "?"
            raise IntelError(
                f"intel feed {name!r}: the TAXII server at {url} answered HTTP {status}",
                hint="check the collection URL and the feed's credentials",
                feed=name,
            ) from error
        except (requests.RequestException, TAXIIServiceException, ValueError) as error:
            raise IntelError(
                f"intel feed {name!r}: cannot read the TAXII collection {url}: "
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                feed=name,
            ) from error
        return indicators_of(name, objects)


class _TimeoutAdapter(HTTPAdapter):
    """taxii2-client sets no timeout, and requests has no session-wide one: without this a dead
    server would hang the watcher forever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)
