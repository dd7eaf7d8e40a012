"""Results translation in a worker process (real ``forkserver`` workers, stix-shifter's
``mysql`` mapping): same bundles as in-process, in-process while the worker starts, and a dead
worker costs nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import translation

IDENTITY = {
    "type": "identity",
    "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
    "name": "mysql-lab",
    "identity_class": "events",
}
OPTIONS = {"table": "events"}


def rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "source_ipaddr": f"10.0.0.{i % 250 + 1}",
            "dest_ipaddr": "203.0.113.7",
            "source_port": 49152 + i,
            "dest_port": 443,
            "process_name": "cmd.exe",
            "process_id": 1000 + i,
            "username": f"user{i % 5}",
            "entry_time": 1_614_556_800_000 + i,
        }
        for i in range(count)
    ]


def objects_of(bundle: dict[str, Any]) -> list[Any]:
    """The observations' objects and times (their ids and creation times are random)."""
    return [
        (o["objects"], o["first_observed"], o["number_observed"])
        for o in bundle["objects"]
        if o["type"] == "observed-data"
    ]


def translate(data: list[Any]) -> Any:
    return asyncio.run(translation.translate_results("mysql", IDENTITY, data, OPTIONS))


@pytest.fixture
def one_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(translation.WORKERS_VARIABLE, "1")
    translation.shutdown()
    yield
    translation.shutdown()


def started_pool() -> Any:
    """The pool, once its worker has imported stix-shifter."""
    pool = translation._pool
    assert pool is not None
    pool.warm.result(timeout=120)
    return pool


def test_the_worker_translates_as_stix_shifter_does_in_process(one_worker: None) -> None:
    page = rows(300)
    first = translate(page)  # in-process: the worker is still starting
    pool = started_pool()
    assert pool.ready()
    in_worker = translate(page)
    translation.shutdown()
    os.environ[translation.WORKERS_VARIABLE] = "0"
    in_process = translate(page)
    assert translation._pool is None
    assert objects_of(first) == objects_of(in_worker) == objects_of(in_process)
    assert len(objects_of(in_worker)) == 300


def test_a_dead_worker_costs_nothing(one_worker: None, caplog: pytest.LogCaptureFixture) -> None:
    page = rows(50)
    expected = objects_of(translate(page))
    pool = started_pool()
    for pid in list(pool.executor._processes):
        os.kill(pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="huntline.fetch.translation"):
        again = translate(page)
    assert objects_of(again) == expected
    assert "translation worker died" in caplog.text
    assert translation._pool is None  # the next page starts a new worker
    translate(page)
    assert started_pool() is not pool
    assert objects_of(translate(page)) == expected


@pytest.mark.parametrize("value", ["many", "-1"])
def test_a_bad_worker_count_is_named(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(translation.WORKERS_VARIABLE, value)
    with pytest.raises(DataSourceError, match=f"HUNTLINE_TRANSLATE_WORKERS='{value}'"):
        translation.translation_workers()


def test_default_is_one_worker_when_there_are_two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(translation.WORKERS_VARIABLE, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert translation.translation_workers() == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert translation.translation_workers() == 0
