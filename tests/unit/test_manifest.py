"""The run manifest read back: typed, and a clear error for an old, newer or damaged one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from huntline.errors import StorageError
from huntline.manifest import BookInfo, HuntInfo, RunManifest, WindowInfo, parse_manifest
from huntline.steps.context import StepOutput
from huntline.storage import TableRef

URI = "file:///s/h/2024-06-04/r/manifest.json"
MANIFEST = RunManifest(
    hunt=HuntInfo(id="h", title="T", level="high", tags=["attack.t1003"]),
    book=BookInfo(path="hunts/t.yaml", sha256="0" * 64),
    flow_run_id="r",
    recorded_at=datetime(2024, 6, 4, 1, 2, 3, tzinfo=UTC),
    status="completed",
    windows={
        "00_get": WindowInfo(
            start=datetime(2024, 6, 3, tzinfo=UTC), stop=datetime(2024, 6, 4, tzinfo=UTC)
        )
    },
    steps=[
        StepOutput(
            step_id="00_get",
            tables={
                "procs": TableRef(uri="file:///s/p.parquet", rows=2, columns=["id"], sha256="1")
            },
            query="[process:name = 'x']",
        )
    ],
)


def stored(**changes: object) -> bytes:
    raw = json.loads(MANIFEST.to_json())
    raw.update(changes)
    return json.dumps({key: value for key, value in raw.items() if value != "<drop>"}).encode()


def test_a_manifest_reads_back_as_it_was_written() -> None:
    raw = json.loads(MANIFEST.to_json())
    assert raw["manifest_version"] == 1
    assert raw["windows"]["00_get"] == {
        "start": "2024-06-03T00:00:00+00:00",
        "stop": "2024-06-04T00:00:00+00:00",
    }
    assert parse_manifest(MANIFEST.to_json(), URI) == MANIFEST


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            stored(manifest_version="<drop>"),
            f"run manifest {URI} is written by a huntline older than versioned manifests; this "
            "huntline reads version 1",
        ),
        (
            stored(manifest_version=2),
            f"run manifest {URI} is written in version 2; this huntline reads version 1",
        ),
        (b"{", f"run manifest {URI} is not JSON: unexpected end of data: line 1 column 2 (char 1)"),
        (b"[]", f"run manifest {URI} is not a JSON object"),
        (
            stored(status="done"),
            f"run manifest {URI} is damaged: status: Input should be 'completed' or 'failed'",
        ),
        (
            stored(steps=[{"step_id": "00_get"}], hunt="<drop>"),
            f"run manifest {URI} is damaged: hunt: Field required (and 1 more)",
        ),
    ],
)
def test_an_old_newer_or_damaged_manifest_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(StorageError) as caught:
        parse_manifest(data, URI)
    assert caught.value.message == message


def test_an_old_manifest_says_what_to_do() -> None:
    with pytest.raises(StorageError) as caught:
        parse_manifest(stored(manifest_version="<drop>"), URI)
    assert caught.value.hint == (
        "read it with the huntline that wrote it (its versions are inside), or run the hunt again"
    )
