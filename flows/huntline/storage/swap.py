"""Changing one object without losing anyone's change: read it, change it, and write it back
only if nobody wrote in between (:meth:`ObjectStore.compare_and_swap`); otherwise start again
from the newer object.

Runs of one hunt can finish together (a backfill with concurrency, a scheduled run beside a
catch-up, a retro-hunt), and each read-modify-writes the same small objects: the alert ledger,
the coverage record, a feed's intel snapshot. A plain ``put`` would let the later writer drop
the earlier one's change silently, so each of them changes through :func:`update_object`.
A refused write reads again and re-applies the change, so a change must be a function of the
bytes it is given (and any side effect of it idempotent).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from huntline.errors import StorageError
from huntline.storage.base import ObjectStore

T = TypeVar("T")


def update_object(
    store: ObjectStore,
    key: str,
    change: Callable[[bytes | None], tuple[bytes | None, T]],
    *,
    what: str,
    tries: int = 50,
) -> T:
    """Apply ``change`` to the bytes at ``key`` and write its result back, conditionally.

    ``change`` gets the current bytes (None if there is no object yet) and returns the bytes
    to store (None to write nothing) and a result, which this returns. If another writer got
    in between, the object is read again and ``change`` applied to the new version, so no
    update is lost; the back-off is random, so racing writers fall out of step. ``what`` names
    the object in errors ("the alert ledger").
    """
    for attempt in range(tries):
        data, version = store.read_versioned(key)
        new, result = change(data)
        if new is None or store.compare_and_swap(key, new, version):
            return result
        time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
    raise StorageError(
        f"{what} {store.uri(key)} changed under every one of {tries} writes",
        uri=store.uri(key),
        hint="other runs of this hunt keep writing it; retry the run",
    )
