"""Which crashed runs the retry automation puts back in their pool (:mod:`huntline.prefect.
zombies`): runs crashed for missing heartbeats, on their first LOST_RUN_RETRIES attempts, of a
deployment; not a run whose own process died under a live worker."""

from __future__ import annotations

import pytest
from prefect.events.schemas.events import RelatedResource, Resource

from huntline.prefect.zombies import (
    LOST_RUN_RETRIES,
    MISSED_BEATS,
    retry_automation,
    zombie_automation,
)

RUN = "prefect.flow-run.0b7a3c9e-5d21-4f6e-9a8b-2f4c6d8e0a13"


def crash(message: str, run_count: int) -> Resource:
    return Resource(
        {
            "prefect.resource.id": RUN,
            "prefect.state-message": message,
            "prefect.run-count": str(run_count),
            "prefect.state-name": "Crashed",
        }
    )


@pytest.mark.parametrize(
    ("message", "run_count", "retried"),
    [
        ("no heartbeat for 36 s: the process that ran this flow run died", 1, True),
        ("no heartbeat for 540 s: the process that ran this flow run died", LOST_RUN_RETRIES, True),
        (
            "no heartbeat for 36 s: the process that ran this flow run died",
            LOST_RUN_RETRIES + 1,
            False,
        ),
        ("Flow run crashed: its worker process died (exit code -9).", 1, False),
    ],
)
def test_only_runs_that_lost_their_worker_are_retried(
    message: str, run_count: int, retried: bool
) -> None:
    trigger = retry_automation().trigger
    assert trigger.match.matches(crash(message, run_count)) is retried
    deployment = RelatedResource(
        {"prefect.resource.id": "prefect.deployment.1", "prefect.resource.role": "deployment"}
    )
    assert trigger.match_related.includes([deployment])
    assert not trigger.match_related.includes([])


def test_the_zombie_message_is_what_the_retry_matches() -> None:
    message = zombie_automation(12).actions[0].message
    assert (
        message
        == f"no heartbeat for {MISSED_BEATS * 12} s: the process that ran this flow run died"
    )
    assert retry_automation().trigger.match.matches(crash(message, 1))
