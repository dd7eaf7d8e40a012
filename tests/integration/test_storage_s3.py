"""The S3 store against a real S3-compatible server (moto's server mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from huntline.errors import StorageError
from huntline.storage import S3Store, open_store, update_object
from huntline.tables import read_table, write_table

pytestmark = pytest.mark.server


def test_s3_round_trip_honours_endpoint(s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/hunts")
    assert isinstance(store, S3Store)
    frame = pd.DataFrame({"id": ["x--1"], "type": ["process"], "name": ["cmd.exe"]})
    ref = write_table(store, "h/2024-01-01/r/00_get/procs.parquet", frame)
    assert ref.uri == f"s3://{s3_bucket}/hunts/h/2024-01-01/r/00_get/procs.parquet"
    assert store.list("h/") == ["h/2024-01-01/r/00_get/procs.parquet"]
    assert store.exists("h/2024-01-01/r/00_get/procs.parquet")
    assert not store.exists("h/nothing")
    pd.testing.assert_frame_equal(read_table(store, ref), frame, check_dtype=False)


def test_missing_bucket_is_a_clear_error(moto_server: str, s3_bucket: str) -> None:
    store = open_store("s3://no-such-bucket-here/x")
    with pytest.raises(StorageError) as caught:
        store.put_bytes("k", b"1")
    assert caught.value.message.startswith("cannot write s3://no-such-bucket-here/x/k")
    assert caught.value.hint == "check the bucket exists, the credentials, and AWS_ENDPOINT_URL"


def test_an_s3_upload_that_fails_midway_leaves_no_object_and_no_upload(
    s3_bucket: str, tmp_path: Path
) -> None:
    """A large file goes up in parts; the second part fails. S3 shows an object only once an
    upload completes, and the aborted multipart upload must not linger (its parts cost money)."""
    import boto3

    store = open_store(f"s3://{s3_bucket}/hunts")
    assert isinstance(store, S3Store)
    source = tmp_path / "big.parquet"
    source.write_bytes(os.urandom(20 << 20))  # above boto3's 8 MB multipart threshold
    parts: list[int] = []

    def fail_second_part(**kwargs: object) -> None:
        parts.append(1)
        if len(parts) == 2:
            raise ConnectionError("network gone mid-upload")

    store._client.meta.events.register("before-call.s3.UploadPart", fail_second_part)
    with pytest.raises((StorageError, ConnectionError)):
        store.put_file("h/t.parquet", source)
    assert len(parts) >= 2, "the failure came after a part was sent"
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert not store.exists("h/t.parquet")


def test_s3_compare_and_swap_refuses_a_stale_etag_and_the_change_is_reapplied(
    s3_bucket: str,
) -> None:
    store = open_store(f"s3://{s3_bucket}/cas")
    assert store.read_versioned("k") == (None, None)
    assert store.compare_and_swap("k", b"a", None)
    assert not store.compare_and_swap("k", b"b", None), "If-None-Match: * over an object"
    seen: list[bytes | None] = []

    def change(data: bytes | None) -> tuple[bytes, None]:
        seen.append(data)
        if len(seen) == 1:  # another writer lands after our read: our If-Match is stale
            store.put_bytes("k", b"theirs ")
        return (data or b"") + b"ours", None

    update_object(store, "k", change, what="the thing")
    assert seen == [b"a", b"theirs "]
    assert store.get_bytes("k") == b"theirs ours"
