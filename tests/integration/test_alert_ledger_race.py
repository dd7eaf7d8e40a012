"""Two processes racing on one hunt's ledger lose no update: on a local directory (flock +
generation + rename) and on S3 (a moto server; conditional PUTs with If-Match/If-None-Match)."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.alert.ledger import Ledger, LedgerEntry
from huntline.alert.ledger_store import ledger_store, update_ledger
from huntline.storage import open_store

NOW = datetime(2024, 6, 3, tzinfo=UTC)
WORKERS, ROUNDS = 2, 25


def entry(key: str, count: int = 1) -> LedgerEntry:
    return LedgerEntry(
        key=key,
        status="new",
        title=key,
        severity="high",
        first_seen=NOW,
        last_seen=NOW,
        last_event=NOW,
        alert="{}",
        last_run="race",
        count=count,
    )


def bump(root: str, worker: int) -> None:
    """One racer: ``ROUNDS`` changes, each raising a shared count and adding a key of its own."""
    store = ledger_store(open_store(root), "hunt")

    def change(ledger: Ledger) -> None:
        shared = ledger.get("shared") or entry("shared", count=0)
        shared.count += 1
        ledger.put(shared)
        ledger.put(entry(f"w{worker}-{len(ledger)}"))

    for _ in range(ROUNDS):
        update_ledger(store, change)


def race(root: str) -> Ledger:
    context = multiprocessing.get_context("spawn")  # children inherit the S3 environment
    racers = [context.Process(target=bump, args=(root, worker)) for worker in range(WORKERS)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(300)
        assert racer.exitcode == 0
    return ledger_store(open_store(root), "hunt").read()[0]


def check(ledger: Ledger) -> None:
    shared = ledger.get("shared")
    assert shared is not None and shared.count == WORKERS * ROUNDS
    assert len(ledger) == WORKERS * ROUNDS + 1
    assert ledger.generation == WORKERS * ROUNDS


def test_two_processes_on_a_file_ledger(tmp_path: Path) -> None:
    check(race(f"file://{tmp_path}"))


@pytest.mark.server
def test_two_processes_on_an_s3_ledger(s3_bucket: str) -> None:
    check(race(f"s3://{s3_bucket}/hunts"))


@pytest.mark.server
def test_an_unreachable_s3_ledger_is_an_error_not_an_empty_ledger(s3_bucket: str) -> None:
    from huntline.errors import StorageError

    store = ledger_store(open_store(f"s3://{s3_bucket}-missing/hunts"), "hunt")
    with pytest.raises(StorageError) as caught:
        store.read()
    assert caught.value.message.startswith(
        f"the alert ledger: cannot read s3://{s3_bucket}-missing/hunts/hunt/ledger/ledger.parquet: "
    )
    assert caught.value.message.endswith("; nothing was sent")
