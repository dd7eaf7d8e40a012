"""A flow run whose process died is marked ``Crashed`` by the server, from its heartbeats.

Why: a run killed with ``kill -9`` (or on a lost machine) never reports an end, so it stayed
``Running`` for good, holding its concurrency slot and misleading whoever looks. Prefect's own
answer is used: every flow run emits ``prefect.flow-run.heartbeat`` events (every
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds, 180 by default, at least 30), and an automation
with a proactive trigger sets ``Crashed`` on a run whose heartbeat is not followed, within
:data:`MISSED_BEATS` intervals, by another heartbeat or a final state (Prefect's "detect
zombie flows" recipe). :func:`ensure_zombie_automation` creates it once per server; ``huntline
server start`` and ``huntline deploy`` call it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

NAME = "huntline: mark flow runs without heartbeats crashed"
#: Heartbeat intervals a run may miss before it is marked crashed.
MISSED_BEATS = 3
FINAL_EVENTS = (
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Crashed",
)


def zombie_automation(heartbeat_seconds: int) -> Any:
    """The automation for runs whose heartbeat comes every ``heartbeat_seconds``."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return AutomationCore(
        name=NAME,
        description="A run that stops sending heartbeats (its process was killed) is crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *FINAL_EVENTS},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=MISSED_BEATS * heartbeat_seconds),
        ),
        actions=[
            ChangeFlowRunState(
                name="Crashed",
                state=StateType.CRASHED,
                force=False,
                message=f"no heartbeat for {MISSED_BEATS * heartbeat_seconds} s: "
                "the process that ran this flow run died",
            )
        ],
    )


def ensure_zombie_automation(client: Any, heartbeat_seconds: int | None = None) -> None:
    """Create (or bring up to date) the automation on the server of ``client``."""
    from prefect.settings import get_current_settings

    seconds = heartbeat_seconds or get_current_settings().flows.heartbeat_frequency or 180
    wanted = zombie_automation(seconds)
    existing = client.read_automations_by_name(NAME)
    for automation in existing[1:]:
        client.delete_automation(automation.id)
    if not existing:
        client.create_automation(wanted)
    elif existing[0].trigger.within != wanted.trigger.within:
        client.update_automation(existing[0].id, wanted)
