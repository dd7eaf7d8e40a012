"""Pausing the cyclic garbage collector while millions of small objects are built.

Parsing a bundle and flattening observations make millions of small acyclic dicts, lists and
strings. Every 700 new containers the collector runs, and its older generations walk the whole
heap (the page, and often a whole parsed bundle) again and again. Parsing the 100k bundle with
orjson took 2.4-2.7 s with the collector on and 0.85-1.0 s with it paused; flattening with the
reference rules (:mod:`.stix.rules`) gains 5-10 % over 100k observations held in memory. Nothing
built there refers back to itself, so nothing is left for the collector. The C collector builds
few Python containers and runs without a pause: it measured no faster with one.

What such a block builds to keep (a parsed bundle or streamed chunk) is still young when the
collector resumes, and its next young collection would walk all of it once: 0.45 s after the
100k bundle's parse. ``keep=True`` moves it to the oldest generation instead, which the
collector walks only when that generation has grown by a quarter.

The collector is one per process. Paused from a worker thread (a Prefect task, a fetch's page
spooled off the event loop), it would stay off for every other flow a long-lived worker runs
meanwhile, and two overlapping pauses would turn it back on under each other. So only the
main thread pauses it; elsewhere the block runs with the collector as it is (slower, never
wrong).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, keep: bool = False) -> Iterator[None]:
    """The cyclic garbage collector off inside the block (back to how it was afterwards).

    Args:
        keep: What the block built outlives it: move every tracked object to the oldest
            generation when it ends (see the module docstring).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # the collector is the whole process's: a worker thread leaves it alone
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            _to_oldest_generation()
        if enabled:
            gc.enable()


def _to_oldest_generation() -> None:
    """Every tracked object into the oldest generation, without walking them: ``freeze`` moves
    all generations to the permanent one and ``unfreeze`` moves that to the oldest. Skipped when
    the process froze objects itself (e.g. before forking workers), as ``unfreeze`` would
    thaw those too."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
