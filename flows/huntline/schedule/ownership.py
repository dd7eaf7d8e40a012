"""Who owns a deployment, and where a folder of books is deployed from (issue 23, items 6, 7).

One Prefect server serves several folders of books: the checkout's ``hunts/``, a team's
``team-b/``, a team's own repository elsewhere. Each ``huntline deploy`` registers one folder,
its **project**, and removes only what that project owns: deploying ``team-b/`` used to plan
the removal of every other deployment, the intel watcher included.

- The project is ``--project NAME``, else the books folder: its path from the current directory
  (``team-b``), or its name when it lies outside (``/elsewhere/books`` -> ``books``).
- The default project, ``hunts``, keeps the names and tags it always had, so deployments made
  before projects existed stay its own. Any other project tags its deployments
  ``huntline-project:NAME`` and prefixes their names with ``NAME-`` (two folders may both hold
  a ``beaconing.yaml``, and Prefect names a deployment once per flow).
- The **root** of a project is where its runs start: the current directory for books inside
  it, else the repository holding the books (the nearest folder with ``.git``), else the books
  folder's parent. Book paths in the deployments are relative to the root, the pull step sets
  the working directory to it, and the entrypoint is the checkout's ``flows/hunt.py`` when the
  root has one, else the installed package's flow (``huntline.prefect.hunt_flow:hunt``), so a
  team's repository needs no copy of huntline's entrypoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huntline.errors import ScheduleError

DEFAULT_PROJECT = "hunts"
PROJECT_TAG = "huntline-project:"
#: The flows as importable objects, for a root without huntline's ``flows/`` entrypoints.
MODULE_ENTRYPOINTS = {
    "hunt": "huntline.prefect.hunt_flow:hunt",
    "intel-watch": "huntline.prefect.intel_flow:intel_watch",
    "pack": "huntline.prefect.pack_flow:pack",
}


@dataclass(frozen=True)
class Project:
    """A folder of books as one owner of deployments."""

    name: str
    books: Path
    root: Path

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_PROJECT

    @property
    def tags(self) -> list[str]:
        """The tags its deployments carry beside ``huntline`` (none for the default)."""
        return [] if self.is_default else [PROJECT_TAG + self.name]

    def deployment_name(self, name: str) -> str:
        return name if self.is_default else f"{self.name}-{name}"

    def entrypoint(self, flow: str, script: str) -> str:
        """``script`` (``flows/hunt.py:hunt``) if the root has it, else the module's flow."""
        return script if (self.root / script.split(":")[0]).is_file() else MODULE_ENTRYPOINTS[flow]

    @property
    def generated(self) -> Path:
        """Its generated deployments file, under its root."""
        name = "huntline" if self.is_default else self.name
        return self.root / "deployments" / f"{name}.yaml"


def project_of(books: Path, name: str | None = None, cwd: Path | None = None) -> Project:
    """The project that deploys the folder ``books`` (see the module docstring)."""
    here = (cwd or Path.cwd()).resolve()
    folder = books.resolve()
    inside = folder == here or here in folder.parents
    if name is None:
        name = folder.relative_to(here).as_posix() if inside else folder.name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise ScheduleError(
            f"no project name for {books}", hint="name it with --project NAME (letters, digits, -)"
        )
    return Project(slug, folder, here if inside else _repository_of(folder))


def _repository_of(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder.parent


def owner_of(tags: list[str]) -> str:
    """The project a managed deployment belongs to (untagged: the default project)."""
    for tag in tags:
        if tag.startswith(PROJECT_TAG):
            return tag[len(PROJECT_TAG) :]
    return DEFAULT_PROJECT


def check_names(project: Project, wanted: list[str], others: dict[str, Any]) -> None:
    """A deployment ``project`` wants must not be another project's (``others``: the managed
    deployments of other projects by name): deploying would silently take it over."""
    taken = sorted(name for name in wanted if name in others)
    if taken:
        owners = ", ".join(f"{name} ({owner_of(list(others[name].tags))})" for name in taken)
        raise ScheduleError(
            f"project {project.name} wants deployment(s) that another project owns: {owners}",
            hint="deploy the folder under another name with --project NAME, or rename the books",
        )
