"""Where a hunt's ledger lives, and how it is changed without losing anyone's update.

The ledger is ``<root>/<hunt-id>/ledger/ledger.parquet`` in the hunt's object storage. Every
change is a read-modify-write through the store's compare-and-swap
(:func:`huntline.storage.update_object`), which only lands if nobody wrote in between
(``If-Match`` on S3, ``flock`` + check + rename on a local directory) and otherwise re-applies
the change to the newer ledger (:func:`update_ledger`), so a change must be a function of the
ledger it is given. A ledger that exists but cannot be read (corrupt, or the storage is down)
raises: it is never taken for empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from huntline.alert.ledger import Ledger, ledger_bytes, parse_ledger
from huntline.errors import StorageError
from huntline.storage import ObjectStore, Version, update_object

T = TypeVar("T")
LEDGER_KEY = "ledger/ledger.parquet"
WHAT = "the alert ledger"


class LedgerStore:
    """Conditional access to one hunt's ledger object."""

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store = store
        self.key = key
        self.uri = store.uri(key)

    def read(self) -> tuple[Ledger, Version | None]:
        """The ledger and its version; an empty ledger if none exists yet."""
        try:
            data, version = self.store.read_versioned(self.key)
        except StorageError as error:
            raise StorageError(
                f"{WHAT}: {error.message}; nothing was sent", hint=error.hint, **error.context
            ) from error
        return self.parse(data), version

    def parse(self, data: bytes | None) -> Ledger:
        return Ledger() if data is None else parse_ledger(data, self.uri)

    def write(self, data: bytes, version: Version | None) -> bool:
        """Write ``data`` if the stored version is still ``version``; False if it changed."""
        return self.store.compare_and_swap(self.key, data, version)


def ledger_store(store: ObjectStore, hunt_id: str) -> LedgerStore:
    """The ledger of ``hunt_id`` in ``store``."""
    return LedgerStore(store, f"{hunt_id}/{LEDGER_KEY}")


def update_ledger(store: LedgerStore, change: Callable[[Ledger], T], *, tries: int = 50) -> T:
    """Apply ``change`` to the stored ledger and write it back, conditionally.

    If another writer got in between, the ledger is read again and ``change`` applied again to
    the new version, so no update is lost. ``change`` must depend only on the ledger it gets.
    A change that touches nothing writes nothing.
    """

    def apply(data: bytes | None) -> tuple[bytes | None, T]:
        ledger = store.parse(data)
        result = change(ledger)
        new = ledger_bytes(ledger, ledger.generation + 1) if ledger.changed else None
        return new, result

    return update_object(store.store, store.key, apply, what=WHAT, tries=tries)
