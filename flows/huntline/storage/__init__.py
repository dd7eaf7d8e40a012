"""Object storage for every table and file that passes between stages.

Every stage reads and writes through an :class:`ObjectStore`; this module depends on no stage.
Two stores ship: ``file://<dir>`` (the default) and ``s3://bucket/prefix`` through boto3, which
honours ``AWS_ENDPOINT_URL`` for S3-compatible servers.

Writes are atomic: a file store writes a temporary sibling and renames it; an S3 ``PUT`` (or a
multipart upload) only becomes visible once complete. So there is never a partial object under a
final key, and a rerun that rewrites the same key is idempotent. Objects that runs change in
place (the alert ledger, coverage, intel snapshots) change through compare-and-swap, which each
store implements once (:func:`update_object`).

Tables move between Prefect tasks as :class:`TableRef` values (URI, rows, columns, sha256), never
as DataFrames, so retries and result persistence work across machines. Building and reading those
tables is :mod:`huntline.tables`' job; this module only moves bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from huntline.errors import StorageError
from huntline.storage.base import ObjectStore, TableRef, Version
from huntline.storage.files import FileStore
from huntline.storage.s3 import S3Store
from huntline.storage.swap import update_object

__all__ = [
    "DEFAULT_ROOT",
    "FileStore",
    "ObjectStore",
    "S3Store",
    "TableRef",
    "Version",
    "file_path",
    "key_of",
    "open_store",
    "update_object",
]

DEFAULT_ROOT = "file://.huntline/store"


def open_store(root: str | None = None) -> ObjectStore:
    """Open the store at ``root`` (``file://DIR``, a plain path, or ``s3://bucket/prefix``).

    Falls back to ``HUNTLINE_STORAGE``, then to ``file://.huntline/store``.
    """
    root = root or os.environ.get("HUNTLINE_STORAGE") or DEFAULT_ROOT
    if root[:7].lower() == "file://":
        return FileStore(file_path(root))
    parsed = urlparse(root)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StorageError(
                f"storage URI {root!r} names no bucket", hint="use s3://BUCKET/PREFIX"
            )
        return S3Store(parsed.netloc, parsed.path)
    if parsed.scheme == "":
        return FileStore(Path(root))
    raise StorageError(
        f"unsupported storage URI {root!r}", hint="use file://DIR or s3://BUCKET/PREFIX"
    )


def file_path(uri: str) -> Path:
    """The directory or file a ``file://`` URI names.

    The rest of the URI is percent-decoded once (``file:///a%20b`` is ``/a b``, as
    :meth:`pathlib.Path.as_uri` wrote it) and is not split at ``?`` or ``#``: they are part of
    a path, not a query or fragment. ``file://DIR`` without a third slash is relative to the
    current directory (``file://.huntline/store``). A plain path (no ``file://``) is taken as
    written, with no decoding.
    """
    return Path(unquote(uri[len("file://") :]))


def key_of(store: ObjectStore, uri: str) -> str:
    """The key of ``uri`` inside ``store``; raises if the URI lies elsewhere. A ``file://``
    URI's key is percent-decoded (the store's URIs are encoded once, by ``Path.as_uri``)."""
    probe = store.uri("").rstrip("/") + "/"
    if not uri.startswith(probe):
        raise StorageError(f"{uri} is not inside the store {store.root}", uri=uri)
    key = uri[len(probe) :]
    return unquote(key) if probe.startswith("file:") else key
