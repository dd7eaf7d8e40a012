"""Register the hunt books' deployments on a Prefect server, idempotently.

``plan_changes`` compares what the books want (:mod:`huntline.schedule.specs`) with the
deployments huntline manages on the server (those tagged ``huntline``): each is created,
updated (its fingerprint, kept as the deployment's version, differs), unchanged, or removed
(its book is gone). ``apply_changes`` does it: upserts the deployment with its schedule,
parameter schema and concurrency limit, replaces its trigger automations, and for a removed
book clears its schedules and automations explicitly before deleting it: Prefect keeps a
schedule that merely disappears from a definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from huntline.schedule.ownership import DEFAULT_PROJECT, Project, check_names, owner_of
from huntline.schedule.specs import MANAGED_TAG, DeploymentSpec

Action = Literal["create", "update", "unchanged", "remove"]


@dataclass(frozen=True)
class Change:
    action: Action
    name: str
    flow: str
    spec: DeploymentSpec | None = None
    deployment_id: str | None = None


def _managed(client: Any) -> dict[str, Any]:
    """The deployments huntline made, by name."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    found = client.read_deployments(
        deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[MANAGED_TAG]))
    )
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
    for change in changes:
        if change.action == "remove":
            _remove(client, change)
        elif change.action in ("create", "update") and change.spec is not None:
            _upsert(client, change.spec, root, pool)


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


def _upsert(client: Any, spec: DeploymentSpec, root: Path, pool: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.events import DeploymentEventTrigger

    flow_id = client.create_flow_from_name(spec.flow)
    deployment_id = client.create_deployment(
        flow_id=flow_id,
        name=spec.name,
        version=spec.fingerprint,
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
    # Schedules and triggers are replaced, not merged: an edited book leaves nothing stale.
    _clear_schedules(client, deployment_id)
    if spec.cron:
        schedule = CronSchedule(cron=spec.cron, timezone=spec.timezone)
        client.create_deployment_schedules(deployment_id, [(schedule, True)])
    client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
    for trigger in spec.triggers():
        event_trigger = DeploymentEventTrigger(
            **{key: value for key, value in trigger.items() if key != "type"}
        )
        event_trigger.set_deployment_id(deployment_id)
        client.create_automation(event_trigger.as_automation())


def _clear_schedules(client: Any, deployment_id: Any) -> None:
    for schedule in client.read_deployment_schedules(deployment_id):
        client.delete_deployment_schedule(deployment_id, schedule.id)


def _remove(client: Any, change: Change) -> None:
    from uuid import UUID

    assert change.deployment_id is not None
    deployment_id = UUID(change.deployment_id)
    _clear_schedules(client, deployment_id)
    client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
    client.delete_deployment(deployment_id)
