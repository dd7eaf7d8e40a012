"""The pack file, and its members checked against it.

::

    # hunts/packs/windows_processes.pack.yaml
    pack: windows-processes            # the pack's id: its fetch is stored under it
    title: Windows process rules
    source: edr                        # every member's get step reads this source
    entity: process                    # ... this entity type
    window: {last: 1h}                 # the window every member runs over
    members: hunts/sigma/              # a folder of books (relative to the pack file), or
    # members: [../a.yaml, ../b.yaml]  # a list of books

Each member is an ordinary hunt book with exactly one ``get`` step, of the pack's entity, from
the pack's source; anything else is a :class:`~huntline.errors.PackError` listing every member
that disagrees, with what it says. A member path that does not exist is named too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from huntline.book import HuntBook
from huntline.book.fields import Strict, WindowSpec
from huntline.book.files import book_paths
from huntline.book.loader import LoadedBook
from huntline.book.steps import GetStep
from huntline.errors import BookError, PackError
from huntline.steps.book_checks import read_hunt
from huntline.yamlfile import load_yaml

__all__ = ["Member", "Pack", "load_pack"]


class PackFile(Strict):
    """The YAML of a pack."""

    pack: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The pack's id")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The one data source every member reads")
    entity: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="The one entity type")
    window: WindowSpec = Field(description="The window every member runs over")
    members: str | list[str] = Field(description="A folder of books, or a list of book files")


@dataclass(frozen=True)
class Member:
    """One member book, as read once (its file, the sha256 of its bytes, the model)."""

    path: Path
    loaded: LoadedBook

    @property
    def book(self) -> HuntBook:
        return self.loaded.book

    @property
    def get(self) -> GetStep:
        return next(step for step in self.book.steps if isinstance(step, GetStep))


@dataclass(frozen=True)
class Pack:
    """A validated pack and its members."""

    path: Path
    spec: PackFile
    members: tuple[Member, ...]


def load_pack(path: str | Path) -> Pack:
    """Read a pack file and load every member.

    Raises:
        PackError: The pack is invalid, a member is missing or invalid, or a member fetches
            another entity or from another source than the pack (every problem listed).
    """
    path = Path(path)
    spec = load_yaml(path, PackError, "pack").model(PackFile, PackError, "pack")
    problems: list[str] = []
    members: list[Member] = []
    for file in _member_files(path, spec, problems):
        try:
            loaded = read_hunt(file)
        except BookError as error:
            problems.append(f"member {file}: {error.message}")
            problems.extend(f"  {problem}" for problem in error.problems)
            continue
        problems.extend(_disagreements(file, loaded.book, spec))
        members.append(Member(file, loaded))
    if not members and not problems:
        problems.append(f"{path}: the pack has no member books")
    if problems:
        raise PackError(
            f"{path}: invalid pack", problems=problems, file=str(path),
            hint="every member has one get step with the pack's entity and source",
        )  # fmt: skip
    return Pack(path, spec, tuple(members))


def _member_files(path: Path, spec: PackFile, problems: list[str]) -> list[Path]:
    base = path.parent
    if isinstance(spec.members, str):
        folder = (base / spec.members).resolve()
        if not folder.is_dir():
            problems.append(f"{path}: members: {spec.members} is not a folder")
            return []
        return book_paths([folder])
    files = []
    for name in spec.members:
        file = (base / name).resolve()
        if not file.is_file():
            problems.append(f"{path}: members: {name}: no such book")
        else:
            files.append(file)
    return files


def _disagreements(file: Path, book: HuntBook, spec: PackFile) -> list[str]:
    gets = [step for step in book.steps if isinstance(step, GetStep)]
    if len(gets) != 1:
        return [f"member {file}: has {len(gets)} get steps; a pack member has exactly one"]
    step, found = gets[0], []
    if step.entity != spec.entity:
        found.append(f"member {file}: fetches {step.entity}, the pack {spec.entity}")
    if list(step.sources) != [spec.source]:
        found.append(f"member {file}: reads {', '.join(step.sources)}, the pack {spec.source}")
    if step.limit is not None:
        found.append(f"member {file}: limit: {step.limit} cannot be shared by a pack")
    return found
