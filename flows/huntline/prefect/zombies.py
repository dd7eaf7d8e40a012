"""A flow run whose process died is marked ``Crashed`` by the server, from its heartbeats.

Why: a run killed with ``kill -9`` (or on a lost machine) never reports an end, so it stayed
``Running`` for good, holding its concurrency slot and misleading whoever looks. Prefect's own
answer is used: every flow run emits ``prefect.flow-run.heartbeat`` events (every
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds, 180 by default, at least 30), and an automation
with a proactive trigger sets ``Crashed`` on a run whose heartbeat is not followed, within
:data:`MISSED_BEATS` intervals, by another heartbeat or a final state (Prefect's "detect
zombie flows" recipe).

A run crashed that way lost its worker (a killed worker, a lost machine), not its own fault, so
a second automation puts it back in its work pool (``AwaitingRetry``, what the UI's Retry does)
for any worker that is left, at most :data:`LOST_RUN_RETRIES` times (it matches the crash event's
``prefect.run-count``). A run that killed its own process is crashed by the worker that saw it
die, with another message, and is not retried: it would likely do it again. Its window and
alerts are safe to run again: the window is the run's scheduled one and gaps are caught up from
the coverage record, and the alert ledger sends only what it has not marked delivered.

:func:`ensure_zombie_automation` creates both once per server; ``huntline server start`` and
``huntline deploy`` call it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

NAME = "huntline: mark flow runs without heartbeats crashed"
#: Heartbeat intervals a run may miss before it is marked crashed.
MISSED_BEATS = 3
#: Times a run crashed for missing heartbeats goes back to its pool (its run count then grows).
LOST_RUN_RETRIES = 2
RETRY_NAME = "huntline: retry flow runs whose worker was lost"
#: How the zombie automation's crash message starts: the retry automation matches on it.
ZOMBIE_MESSAGE = "no heartbeat for"
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
                message=f"{ZOMBIE_MESSAGE} {MISSED_BEATS * heartbeat_seconds} s: "
                "the process that ran this flow run died",
            )
        ],
    )


def retry_automation() -> Any:
    """The automation that reschedules a deployment's run crashed by :func:`zombie_automation`."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return AutomationCore(
        name=RETRY_NAME,
        description="A deployment's run crashed for lost heartbeats goes back to its work pool.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match=ResourceSpecification(
                {
                    "prefect.resource.id": "prefect.flow-run.*",
                    "prefect.state-message": f"{ZOMBIE_MESSAGE} *",
                    "prefect.run-count": [str(n) for n in range(1, LOST_RUN_RETRIES + 1)],
                }
            ),
            match_related=ResourceSpecification({"prefect.resource.role": "deployment"}),
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            ChangeFlowRunState(
                name="AwaitingRetry",
                state=StateType.SCHEDULED,
                message="retried: the worker that ran it was lost (no heartbeat)",
                force=False,
            )
        ],
    )


def ensure_zombie_automation(client: Any, heartbeat_seconds: int | None = None) -> None:
    """Create (or bring up to date) both automations on the server of ``client``."""
    from prefect.settings import get_current_settings

    seconds = heartbeat_seconds or get_current_settings().flows.heartbeat_frequency or 180
    _ensure(client, NAME, zombie_automation(seconds))
    _ensure(client, RETRY_NAME, retry_automation())


def _ensure(client: Any, name: str, wanted: Any) -> None:
    existing = client.read_automations_by_name(name)
    for automation in existing[1:]:
        client.delete_automation(automation.id)
    if not existing:
        client.create_automation(wanted)
    elif _shape(existing[0]) != _shape(wanted):
        client.update_automation(existing[0].id, wanted)


def _shape(automation: Any) -> Any:
    """What is compared: the trigger without its generated id, and the actions."""
    trigger = automation.trigger.model_dump(exclude={"id"})
    return trigger, [action.model_dump() for action in automation.actions]
