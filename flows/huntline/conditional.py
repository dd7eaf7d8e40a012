"""Changing one object in storage without losing anyone's change: read, change, write back
only if nobody wrote in between, and otherwise start again from the newer object.

Runs of one hunt can finish together (a backfill with concurrency, a scheduled run beside a
catch-up, a retro-hunt), and each of them read-modify-writes the same small objects: the alert
ledger and the coverage record. A plain ``put`` lets the later writer silently drop the
earlier one's change, so every such object is changed through :func:`update_object`:

- on S3, the write is a ``PUT`` with ``If-Match: <etag read>`` (``If-None-Match: *`` when the
  object does not exist yet), which S3 and S3-compatible servers refuse with 412 if the object
  changed;
- on a local directory, a ``flock`` on ``.lock`` beside the object is held from the read to the
  write, the bytes on disk are checked again (by sha256) before the write, and the new file
  replaces the old one with an atomic rename.

A refused write reads again and re-applies the change, so a change must be a function of the
bytes it is given. An object that exists but cannot be read raises: it is never taken for
missing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from huntline.errors import StorageError
from huntline.storage import FileStore, ObjectStore, S3Store

T = TypeVar("T")
#: A version token: the sha256 (file) or ETag (S3) read, None if there was no object.
Token = Any


class VersionedObject(Protocol):
    """Conditional access to one object. ``what`` names it in errors ("the alert ledger")."""

    uri: str
    what: str

    def locked(self) -> AbstractContextManager[None]:
        """Held from a read to its write (a no-op where writes are conditional on the
        server)."""
        ...

    def read(self) -> tuple[bytes | None, Token]:
        """The object's bytes (None if it does not exist yet) and their version token."""
        ...

    def write(self, data: bytes, token: Token) -> bool:
        """Write ``data`` if the stored version is still ``token``; False if it changed."""
        ...


class FileObject:
    """An object in a local directory: flock + content check + atomic rename."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.uri = path.as_uri()
        self.what = what

    @contextmanager
    def locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = (self.path.parent / ".lock").open("a")
        except OSError as error:
            raise StorageError(f"cannot lock {self.what} {self.uri}: {error}") from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self) -> tuple[bytes | None, Token]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None, None
        except OSError as error:
            raise StorageError(
                f"cannot read {self.what} {self.uri}: {error}", uri=self.uri
            ) from error
        return data, hashlib.sha256(data).hexdigest()

    def write(self, data: bytes, token: Token) -> bool:
        if self.read()[1] != token:
            return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(
                f"cannot write {self.what} {self.uri}: {error}", uri=self.uri
            ) from error
        return True


class S3Object:
    """An object in S3: writes conditional on the ETag read (``If-Match``/``If-None-Match``)."""

    def __init__(self, store: S3Store, key: str, what: str) -> None:
        self._store = store
        self._key = store._key(key)  # the bucket-relative key, as S3Store builds it
        self.uri = store.uri(key)
        self.what = what

    @contextmanager
    def locked(self) -> Iterator[None]:
        yield  # S3 refuses a stale conditional write itself

    def read(self) -> tuple[bytes | None, Token]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._store._client.get_object(Bucket=self._store.bucket, Key=self._key)
            data: bytes = response["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None, None
            raise self._error("read", error) from error
        except BotoCoreError as error:
            raise self._error("read", error) from error
        return data, response["ETag"]

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
            raise self._error("write", error) from error
        except BotoCoreError as error:
            raise self._error("write", error) from error
        return True

    def _error(self, action: str, error: Exception) -> StorageError:
        return StorageError(
            f"cannot {action} {self.what} {self.uri}: {error}",
            uri=self.uri,
            hint="check the bucket, the credentials and AWS_ENDPOINT_URL",
        )


def versioned_object(store: ObjectStore, key: str, what: str) -> VersionedObject:
    """The object at ``key`` in ``store``, for conditional updates."""
    if isinstance(store, FileStore):
        return FileObject(store.directory / key, what)
    if isinstance(store, S3Store):
        return S3Object(store, key, what)
    raise StorageError(
        f"{what} cannot live in {store.root}: it needs conditional writes",
        hint="use file://DIR or s3://BUCKET/PREFIX storage",
    )


def update_object(
    target: VersionedObject,
    change: Callable[[bytes | None], tuple[bytes | None, T]],
    *,
    tries: int = 50,
) -> T:
    """Apply ``change`` to the stored bytes and write its result back, conditionally.

    ``change`` gets the current bytes (None if there is no object yet) and returns the bytes
    to store (None to write nothing) and a result, which this returns. If another writer got
    in between, the object is read again and ``change`` applied again to the new version, so
    no update is lost; the back-off is random, so racing writers fall out of step.
    """
    for attempt in range(tries):
        with target.locked():
            data, token = target.read()
            new, result = change(data)
            if new is None or target.write(new, token):
                return result
        time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
    raise StorageError(
        f"{target.what} {target.uri} changed under every one of {tries} writes",
        uri=target.uri,
        hint="other runs of this hunt keep writing it; retry the run",
    )
