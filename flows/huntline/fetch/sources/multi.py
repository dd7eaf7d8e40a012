"""One ``get`` step over several data sources (``from: [edr, siem]``), fetched concurrently.

Each source runs in its own task and hands its pages to the consumer through a small bounded
queue, so a fast source waits for the consumer instead of piling pages up in memory: at most
``len(sources) + 1`` pages are held at once, plus one per source in flight.

Rules, chosen for hunts:

- every row says where it came from: each observed-data gets an ``x_datasource`` property (a
  custom property, which STIX allows on any object) with the source's name (the profile name,
  or the URL without credentials), and :func:`fetch_tables` adds an ``x_datasource`` column;
- ``limit`` caps the step as a whole, not each source: the variable never holds more than
  ``limit`` observations. Which source fills it first is a race, so use a limit as a safety cap,
  not as a sample;
- the first source that fails stops the step (the others are cancelled, and async searches are
  deleted on the way out); the error keeps its type, hint and context and adds ``fetched``,
  how many pages and observations each source had delivered, so the caller can say how far it
  got. A hunt over incomplete data must not look complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from huntline.errors import DataSourceError, HuntlineError
from huntline.fetch.base import DataSource, ObservedData, Window
from huntline.fetch.sources.resolve import resolve_source

DATASOURCE_COLUMN = "x_datasource"


@dataclass(frozen=True)
class SourcePage:
    """One page of observed-data and the name of the source it came from."""

    source: str
    observed: list[ObservedData]


@dataclass
class _Progress:
    pages: int = 0
    observations: int = 0
    done: bool = False


async def fetch_sources(
    sources: Sequence[str | DataSource],
    pattern: str,
    window: Window,
    *,
    limit: int | None = None,
    page_size: int | None = None,
    resolve: Callable[[str], DataSource] = resolve_source,
) -> AsyncGenerator[SourcePage, None]:
    """Fetch ``pattern`` in ``window`` from every source at once; yield pages as they arrive.

    Args:
        sources: Source strings as a hunt book writes them (resolved with ``resolve``), or
            data sources already resolved.
        pattern: The STIX pattern; every source gets the same pattern and window.
        window: The run's time window.
        limit: Most observations for the whole step (None: no limit).
        page_size: Results per round trip, per source (None: each source's own default).
        resolve: Turns a source string into a data source.

    Raises:
        DataSourceError: A source is listed twice, cannot be resolved, or fails.
        FetchError: A source returned data that is not valid STIX.
    """
    resolved = [resolve(item) if isinstance(item, str) else item for item in sources]
    _check_names(resolved)
    progress = {source.name: _Progress() for source in resolved}
    queue: asyncio.Queue[tuple[str, list[ObservedData] | None, BaseException | None]]
    queue = asyncio.Queue(maxsize=len(resolved) + 1)

    async def pump(source: DataSource) -> None:
        try:
            async for page in source.pages(pattern, window, limit=limit, page_size=page_size):
                await queue.put((source.name, page, None))
            await queue.put((source.name, None, None))
        except Exception as error:  # handed to the consumer, which raises it
            await queue.put((source.name, None, error))

    tasks = [asyncio.create_task(pump(source)) for source in resolved]
    total = 0
    try:
        while not all(state.done for state in progress.values()):
            name, page, error = await queue.get()
            if error is not None:
                raise _with_progress(error, name, progress) from error
            if page is None:
                progress[name].done = True
                continue
            if limit is not None:
                page = page[: limit - total]
            total += len(page)
            progress[name].pages += 1
            progress[name].observations += len(page)
            if page:
                for observation in page:
                    observation[DATASOURCE_COLUMN] = name
                yield SourcePage(name, page)
            if limit is not None and total >= limit:
                return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _check_names(sources: list[DataSource]) -> None:
    if not sources:
        raise DataSourceError("a get step needs at least one data source")
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise DataSourceError(
                f"data source {source.name!r} is listed twice in one get step",
                source=source.name,
                hint="list each source once; x_datasource tells rows apart by source name",
            )
        seen.add(source.name)


def _with_progress(
    error: BaseException, failed: str, progress: dict[str, _Progress]
) -> BaseException:
    """``error`` with what each source had delivered; same type, hint and context."""
    if not isinstance(error, HuntlineError):
        return error
    fetched: dict[str, Any] = {
        name: {"pages": state.pages, "observations": state.observations, "done": state.done}
        for name, state in progress.items()
    }
    message = error.message
    if len(progress) > 1:
        parts = ", ".join(
            f"{name} {state.observations} observations in {state.pages} pages"
            + (" (complete)" if state.done else "")
            for name, state in progress.items()
        )
        message = f"{message} [while fetching from {len(progress)} sources; {failed} failed; "
        message += f"delivered so far: {parts}]"
    context = {**error.context, "fetched": fetched, "failed_source": failed}
    return type(error)(message, hint=error.hint, **context)
