"""Load a hunt book from YAML, strictly, and report every problem with its file, line and field.

YAML is parsed with the safe loader into nodes first, so each value keeps its line; duplicate
keys are rejected there (PyYAML would silently keep the last one). The plain data is then
validated by the pydantic model, and each validation error is mapped back to the line of the
field it names. Checks that span steps (a variable read before any step sets it, an invalid STIX
pattern, an alert condition that does not parse) run on the validated book. All problems are
reported together in one :class:`BookError`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from huntline.book.entity_columns import entity_column_problems
from huntline.book.fields import WindowSpec
from huntline.book.model import Alert, HuntBook
from huntline.book.steps import KEYWORDS, STEP_KINDS, kind_of
from huntline.book.steps.base import Location
from huntline.book.variables import data_flow
from huntline.errors import BookError
from huntline.expressions import ConditionError, parse_condition

# Builds scalars (str, int, float, bool, null, timestamps) by the YAML 1.1 safe rules.
_SCALARS = yaml.SafeLoader("")


class _Lines:
    """Maps a path into the YAML document to the 1-based line where it starts."""

    def __init__(self) -> None:
        self.lines: dict[Location, int] = {}
        # Each scalar's YAML style and text as written, to explain what quoting changed.
        self.scalars: dict[Location, tuple[str | None, str]] = {}

    def line(self, path: Location) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


def _construct(
    node: yaml.Node, path: Location, lines: _Lines, file: str, problems: list[str]
) -> Any:
    lines.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            # Keys stay the text as written: YAML 1.1 would read the key `on:` as True.
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in result:
                line = key_node.start_mark.line + 1
                problems.append(f"{file}:{line} {_dotted((*path, key))}: duplicate key {key!r}")
                continue
            result[key] = _construct(value_node, (*path, key), lines, file, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, index), lines, file, problems)
            for index, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)  # neither mapping nor sequence: a scalar
    start, end = node.start_mark, node.end_mark
    lines.scalars[path] = (node.style, (start.buffer or "")[start.index : end.index])
    return _SCALARS.construct_object(node, deep=True)


def _dotted(path: Location) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


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
    keys: set[str] = set()
    models: list[type[BaseModel]] = [HuntBook, Alert, WindowSpec]
    for model in [*models, *(kind.model for kind in STEP_KINDS)]:
        keys.update(field.alias or name for name, field in model.model_fields.items())
    return keys


def _describe(error: Any, location: Location) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        guesses = difflib.get_close_matches(str(location[-1]), _known_keys(), n=1)
        return "unknown key" + (f" (did you mean {guesses[0]!r}?)" if guesses else "")
    if error["type"] == "missing":
        return "required but missing"
    if error["type"] == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {error['input']!r}"
    return message.removeprefix("Value error, ")


def load_book(path: str | Path) -> HuntBook:
    """Read and validate a hunt book.

    Raises:
        BookError: listing every problem, each as ``FILE:LINE FIELD: what is wrong``.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise BookError(f"cannot read hunt book {file}: {error.strerror}", file=file) from error
    return parse_book(text, file)


def parse_book(text: str, file: str = "<string>") -> HuntBook:
    """Validate hunt book YAML ``text``; ``file`` names it in messages."""
    problems: list[str] = []
    lines = _Lines()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(error, "problem", None) or str(error)
        raise BookError(
            f"{file} is not valid YAML", problems=[f"{file}:{line} {reason}"], file=file
        ) from error
    data = _construct(root, (), lines, file, problems) if root is not None else None
    if not isinstance(data, dict):
        raise BookError(
            f"{file} is not a hunt book",
            problems=[f"{file}:1 expected a mapping with id, title and steps"],
            file=file,
        )
    try:
        book = HuntBook.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            location = _clean_location(tuple(item["loc"]))
            problems.append(
                f"{file}:{lines.line(location)} {_dotted(location)}: {_describe(item, location)}"
            )
        book = None
    if book is not None:
        problems.extend(_semantic_problems(book, file, lines))
    if problems:
        problems.sort(key=_line_of)
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise BookError(f"{file}: {count}", problems=problems, file=file)
    assert book is not None
    return book


def _line_of(problem: str) -> int:
    """The line number in a ``FILE:LINE field: message`` problem, for sorting."""
    location = problem.split(" ", 1)[0]
    number = location.rsplit(":", 1)[-1]
    return int(number) if number.isdigit() else 0


def _semantic_problems(book: HuntBook, file: str, lines: _Lines) -> list[str]:
    """Checks that need the whole validated book."""
    problems: list[str] = []

    def report(path: Location, message: str) -> None:
        problems.append(f"{file}:{lines.line(path)} {_dotted(path)}: {message}")

    for index, step in enumerate(book.steps):
        at: Location = ("steps", index)

        def scalar(where: Location, at: Location = at) -> tuple[str | None, str]:
            return lines.scalars.get((*at, *where), (None, ""))

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
        from huntline.alert.notify_checks import (
            notify_problems,  # late: the alert stage reads books
        )

        for entry, message in notify_problems(book.alert):
            report(("alert", "notify", *([] if entry is None else [entry])), message)
        for path, message in entity_column_problems(book):
            report(path, message)
    return problems
