"""Runs of one hunt finishing together lose no covered window: processes racing on the coverage
record of a local directory (flock + check + rename) and of S3 (a moto server; conditional PUTs
with If-Match/If-None-Match), as the alert ledger does."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from huntline.schedule.coverage import load_coverage, record_coverage
from huntline.storage import open_store
from huntline.window import Window

T = datetime(2026, 12, 1, tzinfo=UTC)
WORKERS, ROUNDS = 3, 15


def window(worker: int, round_: int) -> Window:
    """Disjoint and not touching, so every window stays its own interval."""
    start = T + timedelta(hours=2 * (round_ * WORKERS + worker))
    return Window(start, start + timedelta(hours=1))


def cover(root: str, worker: int) -> None:
    store = open_store(root)
    for round_ in range(ROUNDS):
        record_coverage(store, "hunt", window(worker, round_))


def race(root: str) -> list[tuple[datetime, datetime]]:
    context = multiprocessing.get_context("spawn")  # children inherit the S3 environment
    racers = [context.Process(target=cover, args=(root, worker)) for worker in range(WORKERS)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(300)
        assert racer.exitcode == 0
    return load_coverage(open_store(root), "hunt").intervals


def expected() -> list[tuple[datetime, datetime]]:
    windows = [window(w, r) for w in range(WORKERS) for r in range(ROUNDS)]
    return sorted((w.start, w.stop) for w in windows)


def test_processes_racing_on_a_file_record_lose_no_window(tmp_path: Path) -> None:
    assert race(f"file://{tmp_path}") == expected()


@pytest.mark.server
def test_processes_racing_on_an_s3_record_lose_no_window(s3_bucket: str) -> None:
    assert race(f"s3://{s3_bucket}/hunts") == expected()
