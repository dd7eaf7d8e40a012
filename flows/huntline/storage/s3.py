"""The ``s3://bucket/prefix`` store, through boto3; ``AWS_ENDPOINT_URL`` selects an
S3-compatible server.

A ``PUT`` (or a multipart upload) only becomes visible once complete, so there is never a
partial object under a key. Compare-and-swap is a ``PUT`` with ``If-Match: <ETag read>``
(``If-None-Match: *`` when there was no object), which S3 and S3-compatible servers refuse
with 412 (or 409 for a concurrent conditional write) if the object changed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from huntline.errors import StorageError
from huntline.storage.base import Version

_MISSING = {"404", "NoSuchKey", "NotFound"}


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

            # Five retries unless AWS_MAX_ATTEMPTS says otherwise: a max_attempts given here
            # would override the user's setting (botocore lets the client config win).
            retries: dict[str, object] = {"mode": "standard"}
            if not os.environ.get("AWS_MAX_ATTEMPTS"):
                retries["max_attempts"] = 5
            self._client_instance = boto3.client(
                "s3",
                endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                config=Config(retries=retries),
            )
        return self._client_instance

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _error(self, action: str, key: str, error: Exception) -> StorageError:
        return StorageError(
            f"cannot {action} {self.uri(key)}: {error}",
            uri=self.uri(key),
            hint="check the bucket exists, the credentials, and AWS_ENDPOINT_URL",
        )

    def _call(self, action: str, key: str, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(*args, **kwargs)
        except (BotoCoreError, ClientError, Boto3Error) as error:
            raise self._error(action, key, error) from error

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
            if _code(error) in _MISSING:
                return False
            raise self._error("read", key, error) from error
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

    def read_versioned(self, key: str) -> tuple[bytes | None, Version | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = response["Body"].read()
        except ClientError as error:
            if _code(error) in _MISSING:
                return None, None
            raise self._error("read", key, error) from error
        except BotoCoreError as error:
            raise self._error("read", key, error) from error
        return data, str(response["ETag"])

    def compare_and_swap(self, key: str, data: bytes, expected: Version | None) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **condition)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in {409, 412}:  # changed since read, or a concurrent conditional write
                return False
            raise self._error("write", key, error) from error
        except BotoCoreError as error:
            raise self._error("write", key, error) from error
        return True


def _code(error: Any) -> str | None:
    code = error.response.get("Error", {}).get("Code")
    return None if code is None else str(code)
