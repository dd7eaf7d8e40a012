"""One ledger section at a time per hunt: a Prefect global concurrency limit of 1.

Two runs of the same hunt (a schedule and a retro-hunt, or a late run overlapping the next)
take turns at the ledger section. The ledger's writes are conditional anyway
(:mod:`huntline.alert.ledger_store`), so the limit saves retries rather than correctness, and a
run outside Prefect (tests, benchmarks) is still safe without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

#: How long a run waits for the other run of its hunt to leave the section.
WAIT_SECONDS = 900


def limit_name(hunt_id: str) -> str:
    return f"huntline-ledger-{hunt_id}"


@contextmanager
def hunt_ledger_limit(hunt_id: str) -> Iterator[None]:
    """Hold the hunt's slot (creating its limit of 1 on first use) for the ``with`` body."""
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = limit_name(hunt_id)
    # Another run may create the limit between the upsert's read and create.
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.upsert_global_concurrency_limit_by_name(name, 1)
    with concurrency(name, occupy=1, timeout_seconds=WAIT_SECONDS, strict=True):
        yield
