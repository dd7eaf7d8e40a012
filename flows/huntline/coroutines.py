"""Running a coroutine from synchronous code, whether or not an event loop runs in this thread.

A synchronous task calls async code (a fetch's concurrent sources, a Secret block's loader).
``asyncio.run`` refuses to start inside a running loop, which is where a long-lived worker or
an async flow calls a sync task from; :func:`run_coroutine` then runs the coroutine on a fresh
loop in a helper thread and waits for it, so the caller's loop is neither blocked re-entrantly
nor touched.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of ``coroutine``, run to completion on a loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop in this thread: the ordinary case
        return asyncio.run(coroutine)
    # The caller's context variables (a fetch's tally) go along, as they would with asyncio.run.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="huntline-coroutine") as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()
