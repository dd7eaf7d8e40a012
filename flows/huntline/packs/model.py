"""The pack file, and its members checked against it.

::

    # hunts/packs/windows_processes.pack.yaml
    pack: windows-processes            # the pack's id: its fetch is stored under it
    title: Windows process rules
    source: edr                        # every member's get step reads this source
    entity: process                    # ... this entity type
    window: {last: 1h}                 # the window every member runs over
    schedule: {cron: "*/30 * * * *"}   # optional: huntline deploy runs the pack on it, as one
                                       # deployment with a book's gap-free scheduled windows
    members: hunts/sigma/              # a folder of books (relative to the pack file), or
    # members: [../a.yaml, ../b.yaml]  # a list of books

Each member is an ordinary hunt book with exactly one ``get`` step, of the pack's entity, from
the pack's source, whose pattern the local evaluator can evaluate on that entity's table (the
pack selects each member's rows locally); anything else is a
:class:`~huntline.errors.PackError` listing every member that disagrees, each problem at the
member's ``file:line field`` (the member's own book problems with them). A member path that
does not exist is named too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, model_validator

from huntline.book import HuntBook
from huntline.book.fields import Strict, WindowSpec
from huntline.book.files import book_paths
from huntline.book.loader import BookCheck, LoadedBook, read_book
from huntline.book.schedule import Schedule
from huntline.book.steps import GetStep
from huntline.book.steps.base import Location
from huntline.errors import BookError, PackError, PatternError
from huntline.patterns import compile_pattern
from huntline.steps import action_of
from huntline.steps.book_checks import STAGE_CHECKS, sigma_book
from huntline.yamlfile import load_yaml

__all__ = ["Member", "Pack", "PackFile", "load_pack", "read_pack_file"]


class PackFile(Strict):
    """The YAML of a pack."""

    pack: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The pack's id")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The one data source every member reads")
    entity: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="The one entity type")
    window: WindowSpec = Field(description="The window every member runs over")
    members: str | list[str] = Field(description="A folder of books, or a list of book files")
    schedule: Schedule | None = Field(
        default=None, description="Run the pack on a cron schedule, as a book's schedule:"
    )

    @model_validator(mode="after")
    def _schedule_needs_lookback(self) -> PackFile:
        if self.schedule is not None and self.window.last is None:
            raise ValueError(
                "a scheduled pack needs a relative window (window: {last: 35m}), its look-back"
            )
        return self


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
    spec = read_pack_file(path)
    problems: list[str] = []
    members: list[Member] = []
    checks = (*STAGE_CHECKS, _agrees_with(spec))
    for file in _member_files(path, spec, problems):
        try:
            loaded = read_book(file, checks, sigma_book)
        except BookError as error:
            problems.append(f"member {error.message}")
            problems.extend(f"  {problem}" for problem in error.problems)
            continue
        members.append(Member(file, loaded))
    if not members and not problems:
        problems.append(f"{path}: the pack has no member books")
    if problems:
        raise PackError(
            f"{path}: invalid pack", problems=problems, file=str(path),
            hint="every member has one get step with the pack's entity and source",
        )  # fmt: skip
    return Pack(path, spec, tuple(members))


def read_pack_file(path: str | Path) -> PackFile:
    """The pack file alone, its members not read (what ``huntline coverage`` needs).

    Raises:
        PackError: The file is unreadable or not a valid pack.
    """
    return load_yaml(Path(path), PackError, "pack").model(PackFile, PackError, "pack")


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


def _agrees_with(spec: PackFile) -> BookCheck:
    """The book check a member passes: one ``get`` step, of the pack's entity and source, with
    a pattern the local evaluator can evaluate on that entity's table."""

    def check(book: HuntBook) -> list[tuple[Location | None, str]]:
        gets = [(i, step) for i, step in enumerate(book.steps) if isinstance(step, GetStep)]
        if len(gets) != 1:
            return [(("steps",), f"has {len(gets)} get steps; a pack member has exactly one")]
        index, step = gets[0]
        found: list[tuple[Location | None, str]] = []
        if step.entity != spec.entity:
            found.append(
                (
                    ("steps", index, "entity"),
                    f"fetches {step.entity}; the pack fetches {spec.entity}",
                )
            )
        if list(step.sources) != [spec.source]:
            sources = ", ".join(step.sources)
            found.append(
                (("steps", index, "from"), f"reads {sources}; the pack reads {spec.source}")
            )
        if step.limit is not None:
            found.append((("steps", index, "limit"), "a pack's shared fetch cannot be cut"))
        if any(where == ("where",) for where, _ in action_of(step).checks(step)):
            return found  # the book's own check named what is wrong with the pattern
        try:
            types = compile_pattern(step.where).types
        except PatternError as error:
            why = f"the pack evaluates it locally and cannot: {error.message}"
            found.append((("steps", index, "where"), why))
        else:
            if step.entity == spec.entity and spec.entity not in types:
                why = f"compares no {spec.entity} property, so it cannot select the pack's rows"
                found.append((("steps", index, "where"), why))
        return found

    return check
