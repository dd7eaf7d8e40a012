"""One deployment as huntline wants it on the server, as plain data (:mod:`.specs` makes them
from books, :mod:`.pack_specs` from rule packs)."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from huntline.intel.events import EVENT, resource_id

MANAGED_TAG = "huntline"


class DeploymentSpec(BaseModel):
    """One deployment as huntline wants it on the server."""

    name: str
    flow: str
    entrypoint: str
    parameters: dict[str, Any]
    description: str
    tags: list[str]
    cron: str | None = None
    timezone: str = "UTC"
    concurrency_limit: int = 1
    feeds: list[str] = []  # intel feeds whose updates trigger a run

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def triggers(self) -> list[dict[str, Any]]:
        """The deployment triggers, in the shape of ``prefect.yaml``'s ``triggers:``."""
        return [
            {
                "type": "event",
                "name": f"{self.name}: intel from {resource_id(feed)}",
                "enabled": True,
                "match": {"prefect.resource.id": resource_id(feed)},
                "expect": [EVENT],
                "posture": "Reactive",
                "threshold": 1,
                "parameters": {
                    **self.parameters,
                    # A plain "{{ … }}" keeps the payload's JSON type (a dict of lists).
                    "indicators": "{{ event.payload.indicators }}",
                    "intel_feed": "{{ event.payload.feed }}",
                    "intel_parquet": "{{ event.payload.parquet }}",
                    "scheduled": False,
                },
            }
            for feed in self.feeds
        ]
