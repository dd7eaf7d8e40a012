"""A rule pack's deployment: one per pack, and its members deployed through it only.

A pack (:mod:`huntline.packs`) exists so that a thousand rules make one query and one flow run
per window, not a thousand. So when ``huntline deploy`` finds a pack beside books that are its
members, it registers the pack once (the flow ``flows/pack.py:pack``, with the pack file as a
parameter and the pack's ``schedule:``) and no deployment for those books: a member scheduled
on its own as well would query the source again and raise its alerts twice over. A member's
own ``schedule:`` is therefore not used (books made by ``huntline sigma convert --schedule``
have one): the pack's ``schedule:`` and ``window:`` decide when and over what each member runs.

Deploying costs the pack's validation (every member is loaded once, as ``huntline pack
validate`` does) and nothing per member beyond it: the deployment's parameters, description
and tags name the pack, not its members, so a folder of 1,100 rules is one small deployment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from huntline.schedule.deployment_spec import MANAGED_TAG, DeploymentSpec
from huntline.schedule.ownership import Project

if TYPE_CHECKING:  # huntline.packs imports pyarrow; validating a book must not
    from huntline.packs.model import Pack

PACK_ENTRYPOINT = "flows/pack.py:pack"
#: Every pack deployment carries this tag beside ``huntline``, to find them in the UI.
PACK_TAG = "pack"


def pack_spec(pack: Pack, root: Path, project: Project | None = None) -> DeploymentSpec:
    """The deployment of one pack (its name is the pack's id, as a deployment name)."""
    spec = pack.spec
    relative = pack.path.resolve().relative_to(root.resolve()).as_posix()
    name = re.sub(r"[^a-z0-9]+", "-", spec.pack.lower()).strip("-")
    return DeploymentSpec(
        name=project.deployment_name(name) if project else name,
        flow="pack",
        entrypoint=project.entrypoint("pack", PACK_ENTRYPOINT) if project else PACK_ENTRYPOINT,
        parameters={"pack": relative, "scheduled": spec.schedule is not None},
        description=(
            f"{spec.title} ({relative}): a rule pack of {len(pack.members)} member book(s); "
            f"each run fetches {spec.entity} from {spec.source} once per window, then every "
            "member raises its own alerts over that table, as if it had run alone"
        ),
        tags=[MANAGED_TAG, *(project.tags if project else []), PACK_TAG],
        cron=spec.schedule.cron if spec.schedule else None,
        timezone=spec.schedule.timezone if spec.schedule else "UTC",
    )
