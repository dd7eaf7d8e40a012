"""A cap on analytics containers across every flow, through a Prefect global concurrency limit
(the Prefect side of :func:`huntline.analytics.slots.container_slot`).

Why: fifty scheduled hunts firing at the same minute would otherwise start fifty containers on
one Docker host. Each container run holds one slot of the global concurrency limit
``huntline-analytics-containers``; runs beyond the limit wait for a slot, whatever flow or
worker they belong to, because the Prefect server keeps the count.

The limit is created on first use with ``HUNTLINE_ANALYTICS_CONTAINERS`` slots (default: the
host's CPU count). An existing limit is left as it is, so an operator can change it in the
Prefect UI or with ``prefect gcl update huntline-analytics-containers --limit N``. Outside a
Prefect run (no API configured) there is nothing to coordinate with and no cap applies.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

LIMIT_NAME = "huntline-analytics-containers"
ENV_LIMIT = "HUNTLINE_ANALYTICS_CONTAINERS"
LEASE_SECONDS = 300.0  # renewed while the container runs
_ensured: set[str] = set()


def default_limit() -> int:
    """``$HUNTLINE_ANALYTICS_CONTAINERS`` or the number of CPUs."""
    configured = os.environ.get(ENV_LIMIT, "").strip()
    return max(1, int(configured)) if configured else max(1, os.cpu_count() or 1)


def ensure_limit(limit: int | None = None) -> int:
    """Create the global limit unless it exists; return its number of slots."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return int(client.read_global_concurrency_limit_by_name(LIMIT_NAME).limit)
        except ObjectNotFound:
            slots = limit or default_limit()
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=LIMIT_NAME, limit=slots)
                )
            except ObjectAlreadyExists:  # another run created it meanwhile
                return int(client.read_global_concurrency_limit_by_name(LIMIT_NAME).limit)
            log.info("created global concurrency limit %s with %d slots", LIMIT_NAME, slots)
            return slots


def _api_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


@contextmanager
def container_slot() -> Iterator[None]:
    """Hold one slot of the container cap while the block runs (no cap without a server)."""
    if not _api_configured():
        yield
        return
    from prefect.concurrency.sync import concurrency

    api = str(os.environ.get("PREFECT_API_URL", "default"))
    if api not in _ensured:
        ensure_limit()
        _ensured.add(api)
    with concurrency(
        LIMIT_NAME, occupy=1, strict=True, lease_duration=LEASE_SECONDS,
        raise_on_lease_renewal_failure=False,
    ):  # fmt: skip
        yield
