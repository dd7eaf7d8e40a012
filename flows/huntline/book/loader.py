"""Load a hunt book from YAML, strictly, and report every problem with its file, line and field.

The YAML is read by :mod:`huntline.yamlfile`, the reader of every file a user writes: safe
loading, duplicate keys rejected, each value with its line, and hostile YAML (alias bombs, deep
nesting, foreign tags, non-UTF-8 bytes) refused with a located error. The plain data is then
validated by the pydantic model, and each validation error is mapped back to the line of the
field it names. Checks that span steps (a variable read before any step sets it, an invalid
STIX pattern, an alert condition that does not parse) run on the validated book. All problems
are reported together in one :class:`BookError`. A book has at most :data:`MAX_STEPS` steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from huntline.book.entity_columns import entity_column_problems
from huntline.book.fields import WindowSpec
from huntline.book.model import Alert, HuntBook
from huntline.book.steps import KEYWORDS, STEP_KINDS, kind_of
from huntline.book.steps.base import Location
from huntline.book.variables import data_flow
from huntline.errors import BookError
from huntline.expressions import ConditionError, parse_condition
from huntline.yamlfile import YamlDocument, load_yaml, located, parse_yaml
from huntline.yamlmodel import model_keys

#: The most steps in one book: each costs about 3 ms to check (its STIX pattern is parsed), and
#: a book of thousands is a generated list, better split into several books.
MAX_STEPS = 500


def _clean_location(location: tuple[int | str, ...]) -> Location:
    """Drop pydantic's union tags (``steps.0.get.where`` → ``steps.0.where``)."""
    cleaned: list[int | str] = []
    for index, part in enumerate(location):
        after_step_index = (
            index >= 2 and location[index - 2] == "steps" and isinstance(location[index - 1], int)
        )
        if after_step_index and part in KEYWORDS and index + 1 < len(location):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def _known_keys() -> set[str]:
    models: list[type[BaseModel]] = [HuntBook, Alert, WindowSpec]
    return model_keys(*models, *(kind.model for kind in STEP_KINDS))


#: A check of a valid book that only a layer above the book can make (is there a runner for
#: this ``apply:``, a destination for this ``notify:``): problems at locations in the book, or
#: at None for a problem already located in another file (``destinations.yaml``).
BookCheck = Callable[[HuntBook], Iterable[tuple[Location | None, str]]]

#: A book written in another form (``sigma: rule.yml``), rewritten by a layer above the book
#: into the plain book data, with the lines of the values it made; raises a located
#: :class:`BookError` when it cannot (:mod:`huntline.sigma.book_source`).
BookSource = Callable[[YamlDocument], YamlDocument]


@dataclass(frozen=True)
class LoadedBook:
    """A book as a run read it: its file, the sha256 of the very bytes validated, and the
    model. A run reads its book once and passes this on, so the manifest's digest describes
    what ran, even if the file changes meanwhile."""

    path: str
    sha256: str
    book: HuntBook


def read_book(
    path: str | Path, checks: Sequence[BookCheck] = (), source: BookSource | None = None
) -> LoadedBook:
    """Read a hunt book once: validate it (as :func:`load_book`) and hash the bytes read."""
    document = load_yaml(path, BookError, "hunt book")
    if source is not None:
        document = source(document)
    return LoadedBook(path=str(path), sha256=document.sha256, book=_checked(document, checks))


def load_book(
    path: str | Path, checks: Sequence[BookCheck] = (), source: BookSource | None = None
) -> HuntBook:
    """Read and validate a hunt book; ``checks`` add the stages' checks and ``source`` expands
    a book written in another form (the book imports no stage:
    :func:`huntline.steps.book_checks.load_hunt` hands in theirs).

    Raises:
        BookError: listing every problem, each as ``FILE:LINE FIELD: what is wrong``.
    """
    return read_book(path, checks, source).book


def parse_book(
    text: str,
    file: str = "<string>",
    checks: Sequence[BookCheck] = (),
    source: BookSource | None = None,
) -> HuntBook:
    """Validate hunt book YAML ``text``; ``file`` names it in messages."""
    document = parse_yaml(text, file, BookError)
    return _checked(source(document) if source is not None else document, checks)


def _checked(document: YamlDocument, checks: Sequence[BookCheck]) -> HuntBook:
    file, data = document.file, document.data
    if not isinstance(data, dict):
        raise BookError(
            f"{file} is not a hunt book",
            problems=[f"{file}:1 expected a mapping with id, title and steps"],
            file=file,
        )
    steps = data.get("steps")
    if isinstance(steps, list) and len(steps) > MAX_STEPS:
        raise BookError(
            f"{file} is refused",
            problems=[document.at(("steps",), f"{len(steps):,} steps (at most {MAX_STEPS})")],
            file=file,
            hint="split the book into several books",
        )
    problems = list(document.problems)
    try:
        book = HuntBook.model_validate(data)
    except ValidationError as error:
        problems += document.validation_problems(
            error, clean=_clean_location, known_keys=_known_keys()
        )
        book = None
    if book is not None:
        problems.extend(_semantic_problems(book, document, checks))
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise located(BookError, f"{file}: {count}", problems, file)
    assert book is not None
    return book


def _semantic_problems(
    book: HuntBook, document: YamlDocument, checks: Sequence[BookCheck]
) -> list[str]:
    """Checks that need the whole validated book, then the ``checks`` handed in."""
    problems: list[str] = []

    def report(path: Location, message: str) -> None:
        problems.append(document.at(path, message))

    for index, step in enumerate(book.steps):
        at: Location = ("steps", index)

        def scalar(where: Location, at: Location = at) -> tuple[str | None, str]:
            return document.scalars.get((*at, *where), (None, ""))

        for where, message in kind_of(step).checks(step, scalar):
            report((*at, *where), message)
    flow = data_flow(book.steps, book.alert.on if book.alert else None)
    for unset in flow.unset:
        report(unset.location, unset.message)
    if book.alert is not None:
        try:
            parse_condition(book.alert.when)
        except ConditionError as error:
            report(("alert", "when"), str(error))
        for path, message in entity_column_problems(book):
            report(path, message)
    for check in checks:
        for place, message in check(book):
            # None: the problem is in another file (destinations.yaml) and names its own place.
            problems.append(message if place is None else document.at(place, message))
    return problems
