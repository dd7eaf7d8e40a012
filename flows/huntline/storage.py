"""Object storage for every table and file that passes between stages.

Every stage reads and writes through an :class:`ObjectStore`; this module depends on no stage.
Two stores ship: ``file://<dir>`` (the default) and ``s3://bucket/prefix`` through boto3, which
honours ``AWS_ENDPOINT_URL`` for S3-compatible servers.

Writes are atomic: a file store writes a temporary sibling and renames it; an S3 ``PUT`` (or a
multipart upload) only becomes visible once complete. So there is never a partial object under a
final key, and a rerun that rewrites the same key is idempotent.

Tables move between Prefect tasks as :class:`TableRef` values (URI, rows, columns, sha256), never
as DataFrames, so retries and result persistence work across machines. Building and reading those
tables is :mod:`huntline.tables`' job; this module only moves bytes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from huntline.errors import StorageError

DEFAULT_ROOT = "file://.huntline/store"


class TableRef(BaseModel):
    """A parquet table in object storage: small, serialisable, and enough to check it."""

    model_config = ConfigDict(frozen=True)

    uri: str
    rows: int
    columns: list[str]
    sha256: str


class ObjectStore(Protocol):
    """Where huntline keeps its objects. Keys are ``/``-separated paths below the root."""

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


class FileStore:
    """A directory on the local file system."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.root = self.directory.as_uri()

    def _path(self, key: str) -> Path:
        return self.directory / key

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def put_file(self, key: str, path: Path) -> None:
        def copy(handle: BinaryIO) -> None:
            with path.open("rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)  # streamed: tables can be large

        self._write(key, copy)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda handle: handle.write(data))

    def _write(self, key: str, writer: Callable[[BinaryIO], object]) -> None:
        """Write to a dot-prefixed temporary file beside ``key``, then rename it: readers see
        the whole object or none, and a write that fails for any reason leaves neither."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "wb") as handle:
                    writer(handle)
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
            return self._path(key).read_bytes()
        except OSError as error:
            raise StorageError(
                f"cannot read {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error

    def download(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self._path(key), path)
        except OSError as error:
            raise StorageError(
                f"cannot read {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix)
        if not base.exists():
            return []
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        return sorted(
            p.relative_to(self.directory).as_posix() for p in files if not p.name.startswith(".")
        )


class S3Store:
    """A bucket and prefix in S3 or an S3-compatible server (``AWS_ENDPOINT_URL``)."""

    def __init__(self, bucket: str, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.root = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client_instance: object | None = None

    @property
    def _client(self):  # type: ignore[no-untyped-def]
        # Created lazily: no I/O or credential lookup in the constructor.
        if self._client_instance is None:
            import boto3
            from botocore.config import Config

            self._client_instance = boto3.client(
                "s3",
                endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}),
            )
        return self._client_instance

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _call(self, action: str, key: str, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(*args, **kwargs)
        except (BotoCoreError, ClientError, Boto3Error) as error:
            raise StorageError(
                f"cannot {action} {self.uri(key)}: {error}",
                uri=self.uri(key),
                hint="check the bucket exists, the credentials, and AWS_ENDPOINT_URL",
            ) from error

    def put_file(self, key: str, path: Path) -> None:
        self._call("write", key, self._client.upload_file, str(path), self.bucket, self._key(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._call(
            "write", key, self._client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data
        )

    def get_bytes(self, key: str) -> bytes:
        response = self._call(
            "read", key, self._client.get_object, Bucket=self.bucket, Key=self._key(key)
        )
        return response["Body"].read()  # type: ignore[no-any-return]

    def download(self, key: str, path: Path) -> None:
        self._call("read", key, self._client.download_file, self.bucket, self._key(key), str(path))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise StorageError(
                f"cannot read {self.uri(key)}: {error}", uri=self.uri(key)
            ) from error
        return True

    def list(self, prefix: str = "") -> list[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        full = self._key(prefix)
        keys: list[str] = []
        pages = self._call(
            "list", prefix, lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=full))
        )
        for page in pages:
            keys.extend(item["Key"] for item in page.get("Contents", []))
        strip = len(self.prefix) + 1 if self.prefix else 0
        return sorted(key[strip:] for key in keys)


def open_store(root: str | None = None) -> ObjectStore:
    """Open the store at ``root`` (``file://DIR``, a plain path, or ``s3://bucket/prefix``).

    Falls back to ``HUNTLINE_STORAGE``, then to ``file://.huntline/store``.
    """
    root = root or os.environ.get("HUNTLINE_STORAGE") or DEFAULT_ROOT
    parsed = urlparse(root)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StorageError(
                f"storage URI {root!r} names no bucket", hint="use s3://BUCKET/PREFIX"
            )
        return S3Store(parsed.netloc, parsed.path)
    if parsed.scheme == "file":
        return FileStore(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "":
        return FileStore(Path(root))
    raise StorageError(
        f"unsupported storage URI {root!r}", hint="use file://DIR or s3://BUCKET/PREFIX"
    )


def key_of(store: ObjectStore, uri: str) -> str:
    """The key of ``uri`` inside ``store``; raises if the URI lies elsewhere."""
    probe = store.uri("").rstrip("/") + "/"
    if not uri.startswith(probe):
        raise StorageError(f"{uri} is not inside the store {store.root}", uri=uri)
    return uri[len(probe) :]
