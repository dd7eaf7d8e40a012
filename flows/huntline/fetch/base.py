"""The contract every data source meets: the `DataSource` Protocol, over a
:class:`~huntline.window.Window`.

A source answers one question: "which STIX observed-data match this pattern inside this window?"
It answers in pages, so a flow never holds a whole result set in memory, and it always receives
an explicit window, because connector defaults differ (stix_bundle looks back 5 minutes, mysql
not at all) and a hunt must not depend on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from huntline.errors import DataSourceError
from huntline.window import Window as Window  # re-exported: the sources take it from here

#: Results per round trip when neither the book nor the source says otherwise.
DEFAULT_PAGE_SIZE = 1000

#: One STIX 2.0 observed-data object, with its SCOs embedded under ``objects``.
ObservedData = dict[str, Any]


@runtime_checkable
class DataSource(Protocol):
    """Where observed-data comes from: a stix-shifter connector or a local STIX bundle.

    Attributes:
        name: The name the hunt book used for the source (profile name or URI, without secrets).
    """

    name: str

    def describe(self) -> str:
        """A one-line description for logs and plans, e.g. ``stix_bundle http://h/b.json``.

        It never contains credentials, so it is safe to log and to store in manifests.
        """
        ...

    def pages(
        self,
        pattern: str,
        window: Window,
        *,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[ObservedData]]:
        """Yield the observed-data matching ``pattern`` inside ``window``, page by page.

        Args:
            pattern: A STIX pattern. The window is added to every observation expression that
                does not already carry its own START/STOP qualifier.
            window: The time range to search.
            limit: Stop after this many results (None: no limit).
            page_size: How many results to ask for per round trip; None lets the source
                choose (:func:`page_size_or`), since the best size depends on how it pages.

        Raises:
            DataSourceError: The source is unreachable, misconfigured or answered with an error.
            FetchError: The source answered with something that is not valid STIX.
        """
        ...


def page_size_or(page_size: int | None, default: int) -> int:
    """The page size to use: the one asked for, else the source's ``default``.

    Raises:
        DataSourceError: ``page_size`` is below 1.
    """
    if page_size is None:
        return default
    if page_size < 1:
        raise DataSourceError(f"page_size must be at least 1, got {page_size}")
    return page_size
