"""The pool worker's claim loop when another worker wins the race for a run.

Prefect answers a second Pending proposal with ``Abort``, a ``BaseException``: it must skip that
run and go on, not end the worker (found by ``tests/integration/test_workers_postgres.py``, where
the losing worker died and the run was left to the one the test then killed)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from prefect.exceptions import Abort

from huntline.prefect import pool_worker
from huntline.prefect.pool_worker import PoolWorker, Settings


class Pipe:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def send(self, message: tuple[Any, ...]) -> None:
        self.sent.append(message)


def test_a_run_another_worker_claimed_first_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    taken, free = uuid4(), uuid4()
    worker = PoolWorker(client=None, settings=Settings(pool="p", processes=1))
    pipe = Pipe()
    alive = SimpleNamespace(is_alive=lambda: True, pid=1)
    worker.slots = [pool_worker.Slot(process=alive, conn=pipe)]  # type: ignore[arg-type]
    due = [SimpleNamespace(flow_run=SimpleNamespace(id=run)) for run in (taken, free)]
    monkeypatch.setattr(worker, "_due_runs", lambda count: due)
    monkeypatch.setattr(worker, "_environment", lambda flow_run: ("env",))

    def propose(client: Any, state: Any, flow_run_id: Any) -> Any:
        if flow_run_id == taken:
            raise Abort("This run is in a PENDING state and cannot transition to a PENDING state.")
        return SimpleNamespace(is_pending=lambda: True)

    monkeypatch.setattr("prefect.utilities.engine.propose_state_sync", propose)
    worker.claim_due_runs()
    assert worker.slots[0].run == free
    assert pipe.sent == [(str(free), "env")]
