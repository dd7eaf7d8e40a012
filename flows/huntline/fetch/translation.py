"""stix-shifter's results translation in a worker process, so that it overlaps flattening.

Turning a page of a connector's raw results into STIX is CPU work inside stix-shifter, and more
of it than huntline's own flattening of the same observations (``bench/fetch_flatten.py``, line
``translate_mysql``: about twice as long). In one process the two take turns. With the
translation in a worker process, page N+1 is translated while page N is flattened (the fetch
flattens in a thread, so the event loop keeps feeding the worker meanwhile).

- One pool per huntline process, started on first use and shared by every source. Its workers
  are started by ``forkserver``: forking a process that runs threads, as Prefect's do, is not
  safe.
- Pages are translated in-process until a worker has imported stix-shifter (about a second), so
  a small fetch never waits for a worker to start.
- ``HUNTLINE_TRANSLATE_WORKERS`` sets the number of workers; ``0`` translates in-process. The
  default is 1 on a machine with more than one CPU, else 0.
- A worker that dies (killed, out of memory) costs nothing: its page is translated again
  in-process, with a warning, and the next page starts a new pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from stix_shifter.stix_translation.stix_translation import StixTranslation

from huntline.errors import DataSourceError

log = logging.getLogger(__name__)

WORKERS_VARIABLE = "HUNTLINE_TRANSLATE_WORKERS"


class _Pool:
    """The worker pool and whether its workers are ready (stix-shifter imported).

    Workers get ``StixTranslation().translate`` itself (a bound method pickles by reference),
    so they import stix-shifter and the connector's module, and nothing of huntline's.
    """

    def __init__(self, workers: int, connector: str, identity: dict[str, Any]) -> None:
        context = multiprocessing.get_context("forkserver")
        self.executor = ProcessPoolExecutor(workers, mp_context=context)
        # an empty page: the imports, and nothing else
        self.warm: Future[Any] = self.executor.submit(
            StixTranslation().translate, connector, "results", identity, [], {}
        )
        self.warm.add_done_callback(_warn_if_not_started)

    def ready(self) -> bool:
        return self.warm.done() and self.warm.exception() is None


def _warn_if_not_started(warm: Future[Any]) -> None:
    if warm.exception() is not None:
        log.warning(
            "the results translation worker did not start (%s); translating in-process",
            type(warm.exception()).__name__,
        )


_pool: _Pool | None = None


def translation_workers() -> int:
    """How many worker processes translate results (``HUNTLINE_TRANSLATE_WORKERS``)."""
    raw = os.environ.get(WORKERS_VARIABLE)
    if raw is None or raw.strip() == "":
        return 1 if (os.cpu_count() or 1) > 1 else 0
    try:
        workers = int(raw)
    except ValueError:
        workers = -1
    if workers < 0:
        raise DataSourceError(
            f"{WORKERS_VARIABLE}={raw!r} is not a number of worker processes",
            hint="set it to 0 (translate in-process) or a small positive number",
        )
    return workers


async def translate_results(
    connector: str, identity: dict[str, Any], data: list[Any], options: dict[str, Any]
) -> Any:
    """stix-shifter's ``translate(connector, "results", ...)`` answer for one page of results:
    a bundle dict, or a failure dict in the connector's words."""
    global _pool
    workers = translation_workers()
    if workers and _pool is None:
        _pool = _Pool(workers, connector, identity)
    if _pool is None or not _pool.ready():
        return await _in_process(connector, identity, data, options)
    pool = _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            pool.executor,
            StixTranslation().translate,
            connector,
            "results",
            identity,
            data,
            options,
        )
    except BrokenProcessPool:
        log.warning(
            "the results translation worker died; translating this page in-process, "
            "and starting a new worker for the next"
        )
        if _pool is pool:
            _pool = None
        pool.executor.shutdown(wait=False, cancel_futures=True)
        return await _in_process(connector, identity, data, options)


async def _in_process(
    connector: str, identity: dict[str, Any], data: list[Any], options: dict[str, Any]
) -> Any:
    return await StixTranslation().translate_async(connector, "results", identity, data, options)


def shutdown() -> None:
    """Stop the workers (tests; a process that ends stops them anyway)."""
    global _pool
    if _pool is not None:
        _pool.executor.shutdown(wait=True, cancel_futures=True)
        _pool = None
