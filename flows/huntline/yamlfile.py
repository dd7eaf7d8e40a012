"""The one reader of every YAML file a user writes: hunt books, their ``*.tests.yaml``,
``intel.yaml``, ``destinations.yaml``, ``stixshifter.yaml``, and Sigma rule files (checked here
before pySigma parses them).

One reader, so that every such file gets the same rules, and its problems read the same way
(``FILE:LINE field: what is wrong``). YAML is parsed into nodes first (events from libyaml where
it is installed, composed here), so each value keeps its line; then plain data is built from the
nodes by YAML's safe rules. Keys stay the text as written (YAML 1.1 would read ``on:`` as True).

These files are untrusted input (a book may come from anyone's pull request), so hostile YAML is
refused with a located error, never a hang or a traceback:

- **Encoding.** The file must be UTF-8; binary, Latin-1 and UTF-16 files are named as such, with
  the line of the first byte that is not UTF-8. At most :data:`MAX_BYTES`.
- **Size and depth.** At most :data:`MAX_NODES` values, nested at most :data:`MAX_DEPTH` deep
  (PyYAML's composer recurses: ~1,000 levels crashed it with RecursionError).
- **Aliases.** An alias inside the node it names (``&a [*a]``) is an error at the alias's line.
  Expanding aliases is bounded: at most :data:`MAX_ALIASES` aliases followed and
  :data:`MAX_ALIAS_NODES` values copied, so "billion laughs" (10 aliases x 9 levels: 10^9
  values) fails at once instead of filling memory.
- **Tags and scalars.** Only YAML's core tags (text, numbers, booleans, null, timestamps, lists
  and mappings): ``!foo`` and ``!!int`` on text are errors at their line. An integer of more than
  :data:`MAX_INT_DIGITS` digits is refused (Python itself refuses to convert 4,300).
- **Duplicate keys** are errors (PyYAML would silently keep the last one).

Fatal problems (not YAML, too big, too deep, alias limits) raise the caller's error type at once;
the others (duplicate keys, tags) are collected in :attr:`YamlDocument.problems`, so a caller
can report them together with its own checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.resolver import Resolver

from huntline.errors import HuntlineError
from huntline.yamlmodel import describe, model_keys

Location = tuple[int | str, ...]
M = TypeVar("M", bound=BaseModel)

#: The largest file read, in bytes.
MAX_BYTES = 8 * 2**20
#: The most values (scalars, lists and mappings) in one file, before aliases are expanded.
MAX_NODES = 250_000
#: The deepest nesting of lists and mappings (a hunt book needs about 8).
MAX_DEPTH = 64
#: The most aliases followed while building the data, nested ones included.
MAX_ALIASES = 1_000
#: The most values copied by expanding aliases.
MAX_ALIAS_NODES = 10_000
#: The longest integer, in characters.
MAX_INT_DIGITS = 100

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str": "text",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a timestamp",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# Builds scalars (str, int, float, bool, null, timestamps) by the YAML 1.1 safe rules.
_SCALARS = yaml.SafeLoader("")


class _Refused(Exception):
    """A fatal problem at a mark: the document is not read any further."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.line = (mark.line + 1) if mark is not None else 1
        self.message = message


class _Limits:
    """Composer hooks: depth, node count and recursive aliases, checked as nodes are composed."""

    def _start_limits(self) -> None:
        self._depth = 0
        self._nodes = 0
        self._open: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _Refused(
                    event.start_mark,
                    f"recursive alias *{event.anchor}: it is inside the node &{event.anchor} "
                    "it refers to",
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        if self._nodes > MAX_NODES:
            raise _Refused(event.start_mark, f"more than {MAX_NODES:,} values in one file")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
            self._open.discard(anchor)


def loader_class(libyaml: bool = True) -> type[Any]:
    """libyaml's event parser (about 4x faster on a large book) under the composer above, or
    PyYAML's own parser where libyaml is not installed (or ``libyaml`` is False)."""
    try:
        if not libyaml:
            raise ImportError
        from yaml._yaml import CParser
    except ImportError:
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class PyLoader(_Limits, Reader, Scanner, Parser, Composer, Resolver):
            def __init__(self, text: str) -> None:
                Reader.__init__(self, text)
                Scanner.__init__(self)
                Parser.__init__(self)
                Composer.__init__(self)
                Resolver.__init__(self)
                self._start_limits()

        return PyLoader

    class CLoader(_Limits, Composer, CParser, Resolver):
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            Resolver.__init__(self)
            self._start_limits()

    return CLoader


_Loader = loader_class()


def dotted(path: Location) -> str:
    """``steps[2].apply``: a location as a reader writes it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass
class YamlDocument:
    """A YAML file's data, with the line of every value and the problems found building it."""

    file: str
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)
    #: Each scalar's YAML style and its text as written, to explain what quoting changed.
    scalars: dict[Location, tuple[str | None, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: The sha256 of the file's bytes as read (:func:`load_yaml`), so what is recorded as run
    #: is what was validated; empty for text given directly.
    sha256: str = ""
    #: Where :attr:`problems` are: a model's complaint about the same value would repeat them.
    flagged: set[Location] = field(default_factory=set)

    def line(self, path: Location) -> int:
        """The line where the value at ``path`` (or its nearest enclosing value) starts."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def at(self, path: Location, message: str) -> str:
        """A problem at ``path``: ``FILE:LINE field: message``."""
        return f"{self.file}:{self.line(path)} {dotted(path)}: {message}"

    def validation_problems(
        self,
        error: ValidationError,
        *,
        clean: Callable[[Location], Location] = lambda location: location,
        known_keys: Iterable[str] = (),
    ) -> list[str]:
        """pydantic's errors, each at the line of the field it names."""
        problems = []
        for item in error.errors():
            location = clean(tuple(item["loc"]))
            if location in self.flagged:
                continue
            problems.append(self.at(location, describe(item, location, known_keys)))
        return problems

    def model(self, model: type[M], error: type[HuntlineError], what: str) -> M:
        """The data validated by ``model``; raises ``error`` listing every problem."""
        problems = list(self.problems)
        result = None
        try:
            result = model.model_validate(self.data)
        except ValidationError as invalid:
            problems += self.validation_problems(invalid, known_keys=model_keys(model))
        if problems or result is None:
            raise located(error, f"{self.file}: invalid {what}", problems, self.file)
        return result


def located(
    error: type[HuntlineError], message: str, problems: list[str], file: str
) -> HuntlineError:
    """``error`` with its problems sorted by line."""
    return error(message, problems=sorted(problems, key=_line_of), file=file)


def _line_of(problem: str) -> int:
    """The line number in a ``FILE:LINE field: message`` problem, for sorting."""
    number = problem.split(" ", 1)[0].rsplit(":", 1)[-1]
    return int(number) if number.isdigit() else 0


def load_yaml(path: str | Path, error: type[HuntlineError], what: str) -> YamlDocument:
    """Read the YAML file at ``path`` (a ``what``, e.g. "hunt book", in messages).

    Raises:
        error: The file cannot be read, is not UTF-8 YAML, or breaks a limit above; its
            ``problems`` say where.
    """
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as failure:
        raise error(f"cannot read {what} {file}: {failure.strerror}", file=file) from None
    if len(raw) > MAX_BYTES:
        raise located(
            error, f"{file} is too large", [f"{file}:1 larger than {MAX_BYTES:,} bytes"], file
        )
    document = parse_yaml(decode(raw, file, error), file, error)
    document.sha256 = hashlib.sha256(raw).hexdigest()
    return document


def decode(raw: bytes, file: str, error: type[HuntlineError]) -> str:
    """``raw`` as UTF-8 text (a UTF-8 byte order mark is dropped); else ``error`` at the line."""
    if _utf16(raw[:64]):
        why = "it is UTF-16: save it as UTF-8"
        raise located(error, f"{file} is not UTF-8 text", [f"{file}:1 {why}"], file)
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        why = "a NUL byte: is it a binary file?"
        raise located(error, f"{file} is not UTF-8 text", [f"{file}:{line} {why}"], file)
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as failure:
        line = raw.count(b"\n", 0, failure.start) + 1
        why = f"byte 0x{raw[failure.start]:02x} is not UTF-8 (Latin-1?); save the file as UTF-8"
        raise located(error, f"{file} is not UTF-8 text", [f"{file}:{line} {why}"], file) from None


def _utf16(head: bytes) -> bool:
    """A UTF-16 byte order mark, or every other byte NUL (ASCII text as UTF-16 without one)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return len(head) >= 4 and (set(head[0::2]) == {0} or set(head[1::2]) == {0})


def parse_yaml(
    text: str, file: str, error: type[HuntlineError], *, loader_type: type[Any] | None = None
) -> YamlDocument:
    """The YAML ``text``; ``file`` names it in messages. Raises ``error`` as :func:`load_yaml`."""
    return _parse(text, file, error, loader_type, many=False)[0]


def parse_yaml_all(text: str, file: str, error: type[HuntlineError]) -> list[YamlDocument]:
    """Every document of a YAML stream (a Sigma rule file may hold several), by the same rules."""
    return _parse(text, file, error, None, many=True)


def _parse(
    text: str, file: str, error: type[HuntlineError], loader_type: type[Any] | None, many: bool
) -> list[YamlDocument]:
    loader = (loader_type or _Loader)(text)
    documents = []
    try:
        roots = []
        if many:
            while loader.check_node():
                roots.append(loader.get_node())
        else:
            roots.append(loader.get_single_node())
        for root in roots:
            document = YamlDocument(file=file, data=None)
            if root is not None:
                document.data = _Builder(document, text).build(root, ())
            documents.append(document)
    except _Refused as refused:
        problem = f"{file}:{refused.line} {refused}"
        raise located(error, f"{file} is refused", [problem], file) from None
    except yaml.YAMLError as failure:
        problem = _yaml_problem(failure, text, file)
        raise located(error, f"{file} is not valid YAML", [problem], file) from None
    finally:
        loader.dispose()
    return documents


def _yaml_problem(failure: yaml.YAMLError, text: str, file: str) -> str:
    mark = getattr(failure, "problem_mark", None)
    if mark is not None:
        return f"{file}:{mark.line + 1} {getattr(failure, 'problem', None) or failure}"
    position = getattr(failure, "position", None)  # a ReaderError: a character YAML forbids
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        return f"{file}:{line} character {text[position]!r} is not allowed in YAML"
    return f"{file}:1 {failure}"


class _Builder:
    """Plain data from nodes, recording lines; aliases are expanded within the limits."""

    def __init__(self, document: YamlDocument, text: str) -> None:
        self.document = document
        self.text = text
        self.seen: set[int] = set()
        self.aliases = 0
        self.copied = 0
        self.copying = 0  # > 0 while building a node reached through an alias

    def build(self, node: yaml.Node, path: Location) -> Any:
        self.document.lines[path] = node.start_mark.line + 1
        if id(node) in self.seen:  # only an alias reaches a node twice
            if not self.copying:
                self.aliases += 1
            self.copied += 1
            if self.aliases > MAX_ALIASES or self.copied > MAX_ALIAS_NODES:
                raise _Refused(
                    node.start_mark,
                    f"aliases expand too far (more than {MAX_ALIASES:,} aliases or "
                    f"{MAX_ALIAS_NODES:,} copied values): a YAML alias bomb?",
                )
            self.copying += 1
            try:
                return self._value(node, path)
            finally:
                self.copying -= 1
        self.seen.add(id(node))
        return self._value(node, path)

    def _value(self, node: yaml.Node, path: Location) -> Any:
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, path, _MAP_TAG)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    line = key_node.start_mark.line + 1
                    where = f"{self.document.file}:{line} {dotted(path)}"
                    self.document.problems.append(f"{where}: a key must be text, not a collection")
                    continue
                key = key_node.value
                if key in result:
                    line = key_node.start_mark.line + 1
                    where = f"{self.document.file}:{line} {dotted((*path, key))}"
                    self.document.problems.append(f"{where}: duplicate key {key!r}")
                    continue
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, path, _SEQ_TAG)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _check_tag(self, node: yaml.Node, path: Location, expected: str) -> None:
        if node.tag != expected:
            self._problem(path, f"unknown tag {_short(node.tag)}")

    def _problem(self, path: Location, message: str) -> None:
        self.document.problems.append(self.document.at(path, message))
        self.document.flagged.add(path)

    def _scalar(self, node: yaml.ScalarNode, path: Location) -> Any:
        start, end = node.start_mark, node.end_mark
        written = self.text[start.index : end.index]
        self.document.scalars[path] = (node.style, written)
        kind = _SCALAR_TAGS.get(node.tag)
        if kind is None:
            self._problem(path, f"unknown tag {_short(node.tag)}")
            return node.value
        if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_DIGITS:
            digits = f"{len(node.value):,}"
            self._problem(path, f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
            return None
        try:
            # construct_document, not construct_object: it empties the loader's memo of the
            # nodes it built. With construct_object this module-level loader kept every scalar
            # node read in the process, whose marks hold its file's whole text: a long-lived
            # worker grew with each book it read (tracemalloc, issue 26).
            return _SCALARS.construct_document(node)
        except (yaml.YAMLError, ValueError, OverflowError, TypeError):
            # The value itself is not repeated: it may be a secret (a profile's password).
            self._problem(path, f"{_short(node.tag)}: this value cannot be read as {kind}")
            return None


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")
