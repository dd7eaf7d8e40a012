"""The deployments the hunt books ask for, as plain data: one per book plus the intel watcher
(and one per rule pack, in place of its members' own: :mod:`.pack_specs`).

Every hunt deployment runs the one generic flow ``flows/hunt.py:hunt`` with its book as a
parameter; they differ only in parameters, schedule, tags and triggers. A book with
``schedule:`` gets its cron schedule (and ``scheduled: true``, so its runs cover their
scheduled windows); a book with ``intel:`` gets a trigger on ``huntline.intel.updated`` from
each of its feeds, which passes the event's indicators in as parameters. Each spec carries a
fingerprint of itself, stored as the deployment's version, so deploying again can tell
"unchanged" from "edited" without comparing every field the server normalises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from huntline.book import HuntBook
from huntline.book.files import hunt_files
from huntline.errors import ScheduleError
from huntline.intel.model import FeedsFile, load_feeds
from huntline.schedule.deployment_spec import MANAGED_TAG as MANAGED_TAG
from huntline.schedule.deployment_spec import DeploymentSpec as DeploymentSpec
from huntline.schedule.ownership import Project
from huntline.schedule.pack_specs import pack_spec
from huntline.steps.book_checks import load_hunt

HUNT_ENTRYPOINT = "flows/hunt.py:hunt"
WATCH_ENTRYPOINT = "flows/intel_watch.py:intel_watch"
WATCH_NAME = "intel-watch"
#: The generated deployments, relative to the repository root, and how to regenerate them.
GENERATED = Path("deployments/huntline.yaml")
REGENERATE = "huntline deploy --write-only"


def deployment_name(book: Path) -> str:
    """``hunts/suspicious_processes.yaml`` -> ``suspicious-processes``."""
    stem = book.name.removesuffix(".yaml").removesuffix(".yml")
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def book_spec(
    book: Path, root: Path, feeds: FeedsFile | None, project: Project | None = None
) -> DeploymentSpec:
    """The deployment of one book; an intel feed the feeds file lacks is an error. A
    ``project`` other than the default names and tags it as its own (:mod:`.ownership`)."""
    model = load_hunt(book)
    relative = book.resolve().relative_to(root.resolve()).as_posix()
    _check_feeds(model, relative, feeds)
    wanted = list(model.intel.feeds) if model.intel else []
    return DeploymentSpec(
        name=project.deployment_name(deployment_name(book)) if project else deployment_name(book),
        flow="hunt",
        entrypoint=project.entrypoint("hunt", HUNT_ENTRYPOINT) if project else HUNT_ENTRYPOINT,
        parameters={"book": relative, "scheduled": model.schedule is not None},
        description=f"{model.title} ({relative})"
        + (f": {model.description.strip()}" if model.description.strip() else ""),
        tags=[MANAGED_TAG, *(project.tags if project else []), *model.tags],
        cron=model.schedule.cron if model.schedule else None,
        timezone=model.schedule.timezone if model.schedule else "UTC",
        feeds=wanted,
    )


def _check_feeds(book: HuntBook, where: str, feeds: FeedsFile | None) -> None:
    wanted = list(book.intel.feeds) if book.intel else []
    known = set(feeds.feeds) if feeds else set()
    unknown = [feed for feed in wanted if feed not in known]
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise ScheduleError(
            (f"{where}: " if where else "")
            + f"intel.feeds names unknown feed {', '.join(map(repr, unknown))}",
            hint=f"the feeds of intel.yaml beside the books are: {names}",
        )


def check_feeds(book: HuntBook, path: str) -> None:
    """The feeds a book's ``intel:`` names exist in the ``intel.yaml`` beside it."""
    if book.intel is None:
        return
    feeds_file = Path(path).parent / "intel.yaml"
    # No place in the message: the command names the book it checks.
    _check_feeds(book, "", load_feeds(feeds_file) if feeds_file.is_file() else None)


def watch_spec(
    feeds_file: Path, root: Path, feeds: FeedsFile, project: Project | None = None
) -> DeploymentSpec:
    """The intel watcher, on the schedule of the feeds file's ``watch:``."""
    relative = feeds_file.resolve().relative_to(root.resolve()).as_posix()
    return DeploymentSpec(
        name=project.deployment_name(WATCH_NAME) if project else WATCH_NAME,
        flow="intel-watch",
        entrypoint=project.entrypoint("intel-watch", WATCH_ENTRYPOINT)
        if project
        else WATCH_ENTRYPOINT,
        parameters={"feeds_file": relative},
        description=f"Pull the intel feeds of {relative} and announce new indicators",
        tags=[MANAGED_TAG, *(project.tags if project else []), "intel"],
        cron=feeds.watch.cron,
        timezone=feeds.watch.timezone,
    )


def desired_specs(
    hunts: Path, root: Path, feeds: FeedsFile | None, project: Project | None = None
) -> list[DeploymentSpec]:
    """One spec per book under ``hunts``, one per rule pack (whose members get none of their
    own: :mod:`.pack_specs`), plus the intel watcher if there is a feeds file."""
    from huntline.packs.model import load_pack  # pyarrow: not when a book is validated

    books, pack_files = hunt_files([hunts])
    packs = [load_pack(path) for path in pack_files]  # validates every member
    members = {member.path.resolve() for pack in packs for member in pack.members}
    specs = [
        book_spec(book, root, feeds, project) for book in books if book.resolve() not in members
    ]
    specs += [pack_spec(pack, root, project) for pack in packs]
    if feeds is not None:
        specs.append(watch_spec(hunts / "intel.yaml", root, feeds, project))
    names = [spec.name for spec in specs]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise ScheduleError(
            f"several books map to the deployment name {', '.join(clashes)}",
            hint="rename one of the book files",
        )
    return specs


def load_specs(hunts: Path, root: Path, project: Project | None = None) -> list[DeploymentSpec]:
    """What ``huntline deploy`` registers for the books under ``hunts`` (paths relative to
    ``root``), with the feeds of the ``intel.yaml`` beside them if there is one."""
    feeds_file = hunts / "intel.yaml"
    feeds = load_feeds(feeds_file) if feeds_file.is_file() else None
    return desired_specs(hunts, root, feeds, project)


def render_specs(specs: list[DeploymentSpec]) -> str:
    """The generated deployments as YAML, for review and version control (:data:`GENERATED`)."""
    import yaml

    document = {
        "# generated by": f"{REGENERATE} (or huntline deploy); edit the hunt books, not this file",
        "deployments": [
            {
                **json.loads(spec.model_dump_json(exclude={"feeds"})),
                "triggers": spec.triggers(),
            }
            for spec in specs
        ],
    }
    text: str = yaml.safe_dump(document, sort_keys=False, width=100)
    return text


def write_specs(specs: list[DeploymentSpec], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_specs(specs))
