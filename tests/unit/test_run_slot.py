"""A long-lived worker process keeps Prefect's services across the runs it does.

Stopping them after each run (``APILogWorker.drain_all``, which stops every Prefect service,
the events worker included) left each stopped one in memory for good, with its API client and
thread, and the next run started new ones: each process grew 1.84 MB per trivial run
(:func:`huntline.prefect.run_slot._wait_for_events` has the measurement)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect.events import emit_event
from prefect.events.clients import NullEventsClient
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from huntline.prefect import run_slot


@pytest.fixture
def events_worker() -> Iterator[None]:
    """Events go nowhere (Prefect's NullEventsClient); the API is never asked."""
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        EventsWorker.set_client_override(NullEventsClient)
        try:
            yield
        finally:
            EventsWorker.drain_all(timeout=5)
            EventsWorker.set_client_override(None)


def test_runs_share_one_events_worker(events_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[UUID] = []

    def run_flow(flow: Any, flow_run: UUID, return_type: str) -> None:
        emit_event(event="huntline.test.run", resource={"prefect.resource.id": f"run.{flow_run}"})
        ran.append(flow_run)

    monkeypatch.setattr("prefect.flow_engine.load_flow_and_flow_run", lambda run: (run, None))
    monkeypatch.setattr("prefect.flow_engine.run_flow", run_flow)
    runs = [uuid4(), uuid4()]
    run_slot.run_one(runs[0])
    events = EventsWorker.instance()
    run_slot.run_one(runs[1])
    assert ran == runs
    assert EventsWorker.instance() is events
