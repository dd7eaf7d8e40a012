"""What every object store offers (:class:`ObjectStore`), and the reference a stored table travels
as between tasks (:class:`TableRef`)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict

#: The version of an object as a store sees it: a sha256 (files) or an ETag (S3).
Version = str


class TableRef(BaseModel):
    """A parquet table in object storage: small, serialisable, and enough to check it."""

    model_config = ConfigDict(frozen=True)

    uri: str
    rows: int
    columns: list[str]
    sha256: str


class ObjectStore(Protocol):
    """Where huntline keeps its objects. Keys are ``/``-separated paths below the root.

    Besides plain atomic reads and writes, a store offers compare-and-swap
    (:meth:`read_versioned` + :meth:`compare_and_swap`), the one primitive the alert ledger,
    the coverage record and the intel snapshots are changed through
    (:func:`huntline.storage.update_object`), so a new store implements consistency once.
    """

    root: str

    def uri(self, key: str) -> str:
        """The full URI of ``key``."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Upload a local file to ``key`` atomically."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``key`` atomically."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """Read the object at ``key``; raises :class:`StorageError` if it is missing."""
        ...

    def download(self, key: str, path: Path) -> None:
        """Copy the object at ``key`` into a local file."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys below ``prefix``, sorted."""
        ...

    def read_versioned(self, key: str) -> tuple[bytes | None, Version | None]:
        """The object's bytes and version; ``(None, None)`` if there is no object.

        An object that exists but cannot be read raises :class:`StorageError`: it is never
        taken for missing.
        """
        ...

    def compare_and_swap(self, key: str, data: bytes, expected: Version | None) -> bool:
        """Write ``data`` to ``key`` atomically if its version is still ``expected`` (``None``:
        if there is still no object); False, writing nothing, if another writer got there."""
        ...
