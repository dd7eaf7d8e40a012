"""Register the hunt books' deployments on a Prefect server, idempotently.

``plan_changes`` compares what the books want (:mod:`huntline.schedule.specs`) with the
deployments huntline manages on the server (those tagged ``huntline``, read in pages: the
server returns at most 200 at a time): each is created, updated (its fingerprint, kept as the
deployment's version, differs), unchanged, or removed (its book is gone). ``apply_changes``
does it: upserts the deployment with its schedule, parameter schema and concurrency limit,
replaces its trigger automations, and for a removed book clears its schedules and automations
explicitly before deleting it: Prefect keeps a schedule that merely disappears from a
definition.

Why it is shaped this way (``bench/deploy_books.py --books 500``, side by side with the code
before, shared 2-core machine at load 7-9): registering one request at a time, five per
deployment (flow, upsert, read and recreate schedules, automations), the parameter schema
rebuilt each time, took 192.1 s wall, 14.6 CPU-s and 44.2 server CPU-s; the upsert now carries
the schedules (the server replaces a deployment's schedules on upsert), the flow ids and schemas
are looked up once, a new deployment has no automations to delete, and the requests go out
:data:`CONCURRENCY` at a time on Prefect's async client: 128.0 s wall, 8.0 CPU-s, 33.2 server
CPU-s. What remains is the server's own work, about 66 ms CPU per upsert, so the 10 s goal of
issue 26 is out of reach on this machine. An unchanged deployment costs nothing beyond the
listing (a redeploy of 500 unchanged: 16.4 s wall, 6.2 CPU-s, 1.0 server CPU-s, mostly start-up
and reading the books); before, the listing read only the server's first page of 200, so a
redeploy re-registered the other 301.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from huntline.schedule.ownership import DEFAULT_PROJECT, Project, check_names, owner_of
from huntline.schedule.specs import MANAGED_TAG, DeploymentSpec

Action = Literal["create", "update", "unchanged", "remove"]
#: Requests in flight at once: enough to hide the round trips; at 8 a loaded SQLite server
#: answered 503 (database busy) past the client's retries.
CONCURRENCY = 4
#: Deployments per listing request (the server's default and maximum page).
PAGE = 200


@dataclass(frozen=True)
class Change:
    action: Action
    name: str
    flow: str
    spec: DeploymentSpec | None = None
    deployment_id: str | None = None


def _managed(client: Any) -> dict[str, Any]:
    """The deployments huntline made, by name (every page of them)."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
    from prefect.client.schemas.sorting import DeploymentSort

    wanted = DeploymentFilter(tags=DeploymentFilterTags(all_=[MANAGED_TAG]))
    found: list[Any] = []
    while True:
        page = client.read_deployments(
            deployment_filter=wanted, sort=DeploymentSort.NAME_ASC, limit=PAGE, offset=len(found)
        )
        found.extend(page)
        if len(page) < PAGE:
            return {deployment.name: deployment for deployment in found}


def plan_changes(
    client: Any, specs: list[DeploymentSpec], project: Project | None = None
) -> list[Change]:
    """What to create, update, keep and remove so the server has ``specs``; only deployments
    ``project`` owns (the default project when None) are removed (:mod:`.ownership`)."""
    managed = _managed(client)
    mine = project.name if project else DEFAULT_PROJECT
    existing = {n: d for n, d in managed.items() if owner_of(list(d.tags)) == mine}
    others = {n: d for n, d in managed.items() if n not in existing}
    if project is not None:
        check_names(project, [spec.name for spec in specs], others)
    changes: list[Change] = []
    for spec in specs:
        current = existing.pop(spec.name, None)
        if current is None:
            changes.append(Change("create", spec.name, spec.flow, spec))
        elif current.version != spec.fingerprint:
            changes.append(Change("update", spec.name, spec.flow, spec, str(current.id)))
        else:
            changes.append(Change("unchanged", spec.name, spec.flow, spec, str(current.id)))
    for name, deployment in sorted(existing.items()):
        changes.append(Change("remove", name, "", None, str(deployment.id)))
    return changes


def ensure_work_pool(client: Any, pool: str) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_work_pool(pool)
    except ObjectNotFound:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))


def apply_changes(client: Any, changes: list[Change], root: Path, pool: str) -> None:
    from huntline.prefect.zombies import ensure_zombie_automation

    ensure_work_pool(client, pool)
    ensure_zombie_automation(client)
    if any(change.action != "unchanged" for change in changes):
        asyncio.run(_apply(changes, root, pool))


async def _apply(changes: list[Change], root: Path, pool: str) -> None:
    """Create, update and remove concurrently; any failure is raised once all are done."""
    from prefect.client.orchestration import get_client

    gate = asyncio.Semaphore(CONCURRENCY)
    async with get_client() as client:
        flows = {change.flow for change in changes if change.action in ("create", "update")}
        flow_ids = {flow: await client.create_flow_from_name(flow) for flow in sorted(flows)}

        async def one(change: Change) -> None:
            async with gate:
                if change.action == "remove":
                    await _remove(client, change)
                elif change.action in ("create", "update") and change.spec is not None:
                    await _upsert(client, change, flow_ids[change.flow], root, pool)

        results = await asyncio.gather(*(one(c) for c in changes), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


@cache
def _schema(flow: str) -> dict[str, Any]:
    """The parameter schema the UI's run form is built from (types and descriptions), serialised
    as ``prefect deploy`` does, so both register the same schema."""
    from prefect.utilities.callables import parameter_schema

    if flow == "hunt":
        from huntline.prefect.hunt_flow import hunt

        return parameter_schema(hunt.fn).model_dump(exclude_unset=True)
    if flow == "pack":
        from huntline.prefect.pack_flow import pack

        return parameter_schema(pack.fn).model_dump(exclude_unset=True)
    from huntline.prefect.intel_flow import intel_watch

    return parameter_schema(intel_watch.fn).model_dump(exclude_unset=True)


async def _upsert(client: Any, change: Change, flow_id: Any, root: Path, pool: str) -> None:
    """The upsert replaces the schedules (the server deletes a deployment's schedules on
    upsert); trigger automations are replaced by hand, so an edited book leaves nothing stale."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.events import DeploymentEventTrigger

    spec = change.spec
    assert spec is not None
    schedules = (
        [DeploymentScheduleCreate(schedule=CronSchedule(cron=spec.cron, timezone=spec.timezone))]
        if spec.cron
        else []
    )
    deployment_id = await client.create_deployment(
        flow_id=flow_id,
        name=spec.name,
        version=spec.fingerprint,
        schedules=schedules,
        parameters=spec.parameters,
        description=spec.description,
        tags=spec.tags,
        work_pool_name=pool,
        entrypoint=spec.entrypoint,
        path=str(root.resolve()),
        pull_steps=[
            {"prefect.deployments.steps.set_working_directory": {"directory": str(root.resolve())}}
        ],
        parameter_openapi_schema=_schema(spec.flow),
        concurrency_limit=spec.concurrency_limit,
    )
    if change.action == "update":  # a new deployment owns no automations yet
        await client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
    for trigger in spec.triggers():
        event_trigger = DeploymentEventTrigger(
            **{key: value for key, value in trigger.items() if key != "type"}
        )
        event_trigger.set_deployment_id(deployment_id)
        await client.create_automation(event_trigger.as_automation())


async def _remove(client: Any, change: Change) -> None:
    from uuid import UUID

    assert change.deployment_id is not None
    deployment_id = UUID(change.deployment_id)
    for schedule in await client.read_deployment_schedules(deployment_id):
        await client.delete_deployment_schedule(deployment_id, schedule.id)
    await client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
    await client.delete_deployment(deployment_id)
