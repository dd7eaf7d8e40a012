"""A book checked against the stages: the loader every command that runs a book goes through.

The book validates what the book alone can say (:func:`huntline.book.load_book`). Whether a
runner takes an ``apply:`` reference is the analytics stage's to say, and whether every
``notify:`` entry names a destination is the alert stage's; since the book imports no stage,
those checks are handed to its loader from here, above both; so is the expansion of a book
that points at a Sigma rule (:mod:`huntline.sigma.book_source`). Their problems come out with the
book's own, each at its ``file:line field``, in one :class:`~huntline.errors.BookError`.
"""

from __future__ import annotations

from pathlib import Path

from huntline.alert.notify_checks import notify_problems
from huntline.book import HuntBook, load_book, parse_book
from huntline.book.loader import BookCheck, LoadedBook, read_book
from huntline.book.steps.base import Location
from huntline.steps import action_of
from huntline.yamlfile import YamlDocument


def step_problems(book: HuntBook) -> list[tuple[Location | None, str]]:
    """Each step's stage checks (:attr:`huntline.steps.base.StepAction.checks`)."""
    return [
        (("steps", index, *where), message)
        for index, step in enumerate(book.steps)
        for where, message in action_of(step).checks(step)
    ]


def destination_problems(book: HuntBook) -> list[tuple[Location | None, str]]:
    """Every ``notify:`` entry that no destination can use; a problem of ``destinations.yaml``
    itself names its own file and line (place None)."""
    if book.alert is None:
        return []
    return [
        (None if entry is None else ("alert", "notify", entry), message)
        for entry, message in notify_problems(book.alert)
    ]


def step_warnings(book: HuntBook) -> list[str]:
    """What ``huntline validate`` warns of in each step (numbered from 1), that may still run."""
    return [
        warning
        for index, step in enumerate(book.steps)
        for warning in action_of(step).warnings(str(index + 1), step)
    ]


STAGE_CHECKS: tuple[BookCheck, ...] = (step_problems, destination_problems)


def sigma_book(document: YamlDocument) -> YamlDocument:
    """A book that points at a Sigma rule, converted (:mod:`huntline.sigma.book_source`);
    any other book as it is. pySigma takes about 0.9 s to import, so only such a book does."""
    if not isinstance(document.data, dict) or "sigma" not in document.data:
        return document
    from huntline.sigma.book_source import sigma_book as converted

    return converted(document)


def load_hunt(path: str | Path) -> HuntBook:
    """Read and validate a hunt book, with the stages' checks."""
    return load_book(path, STAGE_CHECKS, sigma_book)


def read_hunt(path: str | Path) -> LoadedBook:
    """Read a hunt book once, with the stages' checks, and the sha256 of its bytes."""
    return read_book(path, STAGE_CHECKS, sigma_book)


def parse_hunt(text: str, file: str = "<string>") -> HuntBook:
    """Validate hunt book YAML ``text``, with the stages' checks."""
    return parse_book(text, file, STAGE_CHECKS, sigma_book)
