"""The ``file://`` store: a directory on the local file system.

Writes go to a dot-prefixed temporary file beside the key and are renamed over it, so readers
see a whole object or none. Compare-and-swap holds a ``flock`` on ``.lock`` beside the object
while it checks the bytes on disk (by sha256) against the version read and renames the new file
in, so two processes on one host (or one NFS mount with working locks) never lose a change.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from huntline.errors import StorageError
from huntline.storage.base import Version


class FileStore:
    """A directory on the local file system."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.root = self.directory.as_uri()

    def path(self, key: str) -> Path:
        """The local file of ``key``."""
        return self.directory / key

    def uri(self, key: str) -> str:
        return self.path(key).as_uri()

    def put_file(self, key: str, path: Path) -> None:
        def copy(handle: BinaryIO) -> None:
            with path.open("rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)  # streamed: tables can be large

        self._write(key, copy)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda handle: handle.write(data))

    def _write(
        self, key: str, writer: Callable[[BinaryIO], object], *, durable: bool = False
    ) -> None:
        """Write to a dot-prefixed temporary file beside ``key``, then rename it: readers see
        the whole object or none, and a write that fails for any reason leaves neither.
        ``durable`` syncs the file first, for objects that are changed in place (a ledger)."""
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "wb") as handle:
                    writer(handle)
                    if durable:
                        handle.flush()
                        os.fsync(handle.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(
                f"cannot write {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except OSError as error:
            raise StorageError(
                f"cannot read {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error

    def download(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self.path(key), path)
        except OSError as error:
            raise StorageError(
                f"cannot read {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self.path(prefix)
        if not base.exists():
            return []
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        return sorted(
            p.relative_to(self.directory).as_posix() for p in files if not p.name.startswith(".")
        )

    def read_versioned(self, key: str) -> tuple[bytes | None, Version | None]:
        try:
            data = self.path(key).read_bytes()
        except FileNotFoundError:
            return None, None
        except OSError as error:
            raise StorageError(
                f"cannot read {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error
        return data, hashlib.sha256(data).hexdigest()

    def compare_and_swap(self, key: str, data: bytes, expected: Version | None) -> bool:
        with self._locked(key):
            if self.read_versioned(key)[1] != expected:
                return False
            self._write(key, lambda handle: handle.write(data), durable=True)
        return True

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """An exclusive ``flock`` on ``.lock`` in the object's directory."""
        lock = self.path(key).parent / ".lock"
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            handle = lock.open("a")
        except OSError as error:
            raise StorageError(
                f"cannot lock {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
