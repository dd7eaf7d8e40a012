"""The S3 store against a real S3-compatible server (moto's server mode)."""

from __future__ import annotations

import pandas as pd
import pytest

from huntline.errors import StorageError
from huntline.storage import S3Store, open_store, read_table, write_table

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
