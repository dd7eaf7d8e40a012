"""Where a hunt's ledger lives, and how it is changed without losing anyone's update.

The ledger is ``<root>/<hunt-id>/ledger/ledger.parquet`` in the hunt's object storage. Every
change is a read-modify-write that only lands if nobody wrote in between:

- on S3, the write is a ``PUT`` with ``If-Match: <etag read>`` (``If-None-Match: *`` when the
  ledger does not exist yet), which S3 and S3-compatible servers refuse with 412 if the object
  changed;
- on a local directory, a ``flock`` on ``ledger/.lock`` is held from the read to the write, the
  generation on disk is checked again before the write, and the new file replaces the old one
  with an atomic rename.

A refused write reads again and re-applies the change (:func:`update_ledger`), so a change must
be a function of the ledger it is given. A ledger that exists but cannot be read (corrupt, or
the storage is down) raises: it is never taken for empty.
"""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from huntline.alert.ledger import GENERATION, Ledger, ledger_bytes, parse_ledger
from huntline.errors import AlertError, StorageError
from huntline.storage import FileStore, ObjectStore, S3Store

T = TypeVar("T")
LEDGER_KEY = "ledger/ledger.parquet"
#: A version token: the generation (file) or ETag (S3) read, None if there was no ledger.
Token = Any


class LedgerStore(Protocol):
    """Conditional access to one hunt's ledger object."""

    uri: str

    def locked(self) -> Any:
        """A context manager held from a read to its write (a no-op where writes are
        conditional on the server)."""
        ...

    def read(self) -> tuple[Ledger, Token]:
        """The ledger and its version token; an empty ledger if none exists yet."""
        ...

    def write(self, data: bytes, token: Token) -> bool:
        """Write ``data`` if the stored version is still ``token``; False if it changed."""
        ...


class FileLedgerStore:
    """The ledger in a local directory: flock + generation check + atomic rename."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uri = path.as_uri()

    @contextmanager
    def locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = (self.path.parent / ".lock").open("a")
        except OSError as error:
            raise StorageError(f"cannot lock the alert ledger {self.uri}: {error}") from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self) -> tuple[Ledger, Token]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Ledger(), None
        except OSError as error:
            raise StorageError(
                f"cannot read the alert ledger {self.uri}: {error}; nothing was sent", uri=self.uri
            ) from error
        ledger = parse_ledger(data, self.uri)
        return ledger, ledger.generation

    def _generation_on_disk(self) -> int | None:
        try:
            metadata = pq.read_schema(self.path).metadata or {}
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException) as error:
            raise StorageError(f"cannot read the alert ledger {self.uri}: {error}") from error
        return int(metadata[GENERATION])

    def write(self, data: bytes, token: Token) -> bool:
        if self._generation_on_disk() != token:
            return False
        try:
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger.")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            raise StorageError(f"cannot write the alert ledger {self.uri}: {error}") from error
        return True


class S3LedgerStore:
    """The ledger in S3: writes conditional on the ETag read (``If-Match``/``If-None-Match``)."""

    def __init__(self, store: S3Store, key: str) -> None:
        self._store = store
        self._key = store._key(key)  # the bucket-relative key, as S3Store builds it
        self.uri = store.uri(key)

    @contextmanager
    def locked(self) -> Iterator[None]:
        yield  # S3 refuses a stale conditional write itself

    def read(self) -> tuple[Ledger, Token]:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._store._client
        try:
            response = client.get_object(Bucket=self._store.bucket, Key=self._key)
            data = response["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return Ledger(), None
            raise self._unreadable(error) from error
        except BotoCoreError as error:
            raise self._unreadable(error) from error
        return parse_ledger(data, self.uri), response["ETag"]

    def _unreadable(self, error: Exception) -> StorageError:
        return StorageError(
            f"cannot read the alert ledger {self.uri}: {error}; nothing was sent",
            uri=self.uri,
            hint="check the bucket, the credentials and AWS_ENDPOINT_URL",
        )

    def write(self, data: bytes, token: Token) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        condition = {"IfNoneMatch": "*"} if token is None else {"IfMatch": token}
        try:
            self._store._client.put_object(
                Bucket=self._store.bucket, Key=self._key, Body=data, **condition
            )
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in {409, 412}:  # changed since read, or a concurrent conditional write
                return False
            raise StorageError(f"cannot write the alert ledger {self.uri}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"cannot write the alert ledger {self.uri}: {error}") from error
        return True


def ledger_store(store: ObjectStore, hunt_id: str) -> LedgerStore:
    """The ledger of ``hunt_id`` in ``store``."""
    key = f"{hunt_id}/{LEDGER_KEY}"
    if isinstance(store, FileStore):
        return FileLedgerStore(store.directory / key)
    if isinstance(store, S3Store):
        return S3LedgerStore(store, key)
    raise AlertError(
        f"the alert ledger cannot live in {store.root}: it needs conditional writes",
        hint="use file://DIR or s3://BUCKET/PREFIX storage",
    )


def update_ledger(store: LedgerStore, change: Callable[[Ledger], T], *, tries: int = 50) -> T:
    """Apply ``change`` to the stored ledger and write it back, conditionally.

    If another writer got in between, the ledger is read again and ``change`` applied again to
    the new version, so no update is lost. ``change`` must depend only on the ledger it gets.
    A change that touches nothing writes nothing.
    """
    for attempt in range(tries):
        with store.locked():
            ledger, token = store.read()
            result = change(ledger)
            if not ledger.changed or store.write(
                ledger_bytes(ledger, ledger.generation + 1), token
            ):
                return result
        time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
    raise AlertError(
        f"the alert ledger {store.uri} changed under every one of {tries} writes",
        hint="another run of this hunt keeps writing it; retry the run",
    )
