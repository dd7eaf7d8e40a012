"""The ``huntline.intel.updated`` event: what a feed published that is new.

The event goes out on the resource ``huntline.intel.<feed>``, which is what a hunt's deployment
trigger matches. Its payload carries the new indicators grouped by type, the shape a book's
pattern templates read (``{{ intel.ipv4 }}``), so the trigger can pass them to the hunt as a
parameter unchanged. Past :data:`PAYLOAD_LIMIT` indicators the payload carries only the parquet
reference and the hunt reads the table instead: Prefect bounds the size of an event.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from huntline.intel.model import Indicator

EVENT = "huntline.intel.updated"
PAYLOAD_LIMIT = 2000


class IntelEvent(BaseModel):
    """An event, ready to emit (:func:`prefect.events.emit_event` takes these fields)."""

    event: str
    resource: dict[str, str]
    payload: dict[str, Any]


def resource_id(feed: str) -> str:
    return f"huntline.intel.{feed}"


def grouped(indicators: list[Indicator]) -> dict[str, list[str]]:
    """Values by type, each list sorted, types in a stable order."""
    groups: dict[str, set[str]] = {}
    for indicator in indicators:
        groups.setdefault(indicator.type, set()).add(indicator.value)
    return {kind: sorted(groups[kind]) for kind in sorted(groups)}


def intel_event(feed: str, new: list[Indicator], parquet_uri: str) -> IntelEvent:
    """The event announcing ``new`` indicators of ``feed``, stored at ``parquet_uri``."""
    inline = len(new) <= PAYLOAD_LIMIT
    return IntelEvent(
        event=EVENT,
        resource={"prefect.resource.id": resource_id(feed), "prefect.resource.name": feed},
        payload={
            "feed": feed,
            "count": len(new),
            # Always present, so a trigger's "{{ event.payload.indicators }}" keeps its type.
            "indicators": grouped(new) if inline else {},
            "truncated": not inline,
            "parquet": parquet_uri,
        },
    )
