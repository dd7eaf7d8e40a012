"""What a stix-shifter connector's query keeps of a pattern, decided without translating it.

stix-shifter's query translators (``BaseQueryTranslator.transform_query``, stix-shifter 8.1.3)
strip every comparison whose property the connector's ``from_stix_map`` does not map, or whose
operator its ``operators.json`` lacks, before they build the native query: an ``AND`` with a
stripped side is stripped whole, an ``OR`` keeps its other sides, an observation left empty is
dropped. A pattern left with nothing fails translation with a mapping error; a pattern left
with something runs, narrower than written, and stix-shifter only logs a warning. Each dialect
strips with its own mapping and the native queries of all dialects are run, so the connector
fetches the OR over dialects of what each kept.

:func:`reach_of` applies that same rule to huntline's parse of the pattern
(:mod:`huntline.patterns.syntax`), with the mapping and operators of the connector's own
translators (built once per connector, options and stix-shifter version, per process). A pack
needs it because its covering OR hides the difference: a member's stripped part vanishes from
the OR silently, where alone the member would fail, or fetch only what is kept. A translator
with its own ``transform_query`` (stix_bundle's, which matches whole bundles) strips nothing.
``tests/unit/packs/test_reach.py`` checks that the kept pattern translates to the same native
queries as the whole pattern, on real connectors.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from huntline.patterns.syntax import Comparison, Junction, Node, ParsedPattern

__all__ = ["Reach", "SourceReach", "connector_reach", "reach_of", "source_reach"]

#: stix-shifter's name for each comparison operator (``ComparisonComparators.<name>``).
_COMPARATORS = {
    "=": "Equal", "!=": "NotEqual", "<>": "NotEqual", ">": "GreaterThan",
    ">=": "GreaterThanOrEqual", "<": "LessThan", "<=": "LessThanOrEqual", "IN": "In",
    "LIKE": "Like", "MATCHES": "Matches", "ISSUBSET": "IsSubSet", "ISSUPERSET": "IsSuperSet",
}  # fmt: skip
#: ``type:path [NOT] op ...``: the object path as written (stix-shifter maps it as written) and
#: the operator.
_TEST = re.compile(
    r"^([\w-]+:(?:'(?:[^'\\]|\\.)*'|\[[^\]]*\]|[^\s'\[!<>=])+)\s*(?:NOT\s+)?"
    r"(!=|<>|<=|>=|=|<|>|IN|LIKE|MATCHES|ISSUBSET|ISSUPERSET)",
    re.IGNORECASE,
)
_EXISTS = re.compile(r"^(?:NOT\s+)?EXISTS\s+(\S+)", re.IGNORECASE)

#: Whether one dialect maps ``(object path, comparator name)`` (the path alone for ``""``).
Mapped = Callable[[str, str], bool]


@dataclass(frozen=True)
class Reach:
    """What the connector's query keeps of one pattern.

    Attributes:
        kept: The pattern its native queries select (the whole pattern when nothing is
            stripped; None when nothing maps, and translation fails).
        unmapped: The ``type:path`` (or ``operator``) stripped, sorted.
    """

    kept: str | None
    unmapped: tuple[str, ...] = ()

    @property
    def whole(self) -> bool:
        return not self.unmapped


def reach_of(parsed: ParsedPattern, dialects: Sequence[Mapped]) -> Reach:
    """What a connector with ``dialects`` keeps of ``parsed`` (observations without
    qualifiers: a pack member's pattern)."""
    unmapped: set[str] = set()
    kept_by_dialect: list[list[str]] = []
    for mapped in dialects:
        stripped: set[str] = set()
        kept = [_kept(o.expression, mapped, stripped) for o in parsed.observations]
        if not stripped:
            return Reach(parsed.text)  # one dialect fetches all of it
        unmapped |= stripped
        kept_by_dialect.append([part for part in kept if part is not None])
    parts = list(dict.fromkeys(part for kept in kept_by_dialect for part in kept))
    text = " OR ".join(f"[{part}]" for part in parts) if parts else None
    return Reach(text, tuple(sorted(unmapped)))


def _kept(node: Node, mapped: Mapped, unmapped: set[str]) -> str | None:
    """``node`` as the dialect keeps it, as pattern text, or None if stripped whole."""
    if isinstance(node, Comparison):
        path, comparator = _path_and_comparator(node)
        if mapped(path, comparator):
            return node.text
        unmapped.add(f"{path} ({comparator})" if mapped(path, "") else path)
        return None
    assert isinstance(node, Junction)
    parts = [_kept(part, mapped, unmapped) for part in node.parts]
    if node.conjunction and None in parts:
        return None
    kept = [part for part in parts if part is not None]
    joiner = " AND " if node.conjunction else " OR "
    return f"({joiner.join(kept)})" if kept else None


def _path_and_comparator(comparison: Comparison) -> tuple[str, str]:
    if comparison.op == "EXISTS":
        exists = _EXISTS.match(comparison.text)
        return (exists.group(1) if exists else comparison.sco_type), "Exists"
    test = _TEST.match(comparison.text)
    if test is None:  # not reached for texts the grammar accepted; kept as unmapped
        return comparison.text, comparison.op
    return test.group(1), _COMPARATORS[test.group(2).upper()]


def connector_reach(connector: str, options: dict[str, Any]) -> list[Mapped]:
    """The dialects of ``connector`` with ``options`` (the profile's connection options) that
    its query translation uses, each as a test of what it maps; cached per process."""
    key = json.dumps(options, sort_keys=True, default=str)
    return _dialects(connector, key, version("stix-shifter"))


@functools.cache
def _dialects(connector: str, options_json: str, _version: str) -> list[Mapped]:
    """As ``StixTranslation.translate_async`` picks them for a query translation."""
    from stix_shifter_utils.modules.base.stix_translation.base_query_translator import (
        BaseQueryTranslator,
    )
    from stix_shifter_utils.utils.module_discovery import process_dialects
    from stix_shifter_utils.utils.param_validator import param_validator

    options = json.loads(options_json)
    module, dialects = process_dialects(connector, options)
    entry = importlib.import_module(f"stix_shifter_modules.{module}.entry_point")
    validated = param_validator(module, options, "connection.options")
    entry_point = entry.EntryPoint(options=validated)
    if dialects:
        language = options.get("language")
    else:
        dialects, language = entry_point.get_dialects(), validated["language"]
    found: list[Mapped] = []
    for dialect in dialects:
        translator = entry_point.get_query_translator(dialect)
        if language and language != translator.get_language():
            continue
        own = type(translator).transform_query is not BaseQueryTranslator.transform_query
        if own or not isinstance(translator, BaseQueryTranslator):
            found.append(lambda _path, _comparator: True)  # strips nothing
            continue
        operators = frozenset(k for k, v in translator.map_comparator().items() if v)
        found.append(functools.partial(_maps, translator, operators))
    return found


def _maps(translator: Any, operators: frozenset[str], path: str, comparator: str) -> bool:
    sco_type, _, prop = path.partition(":")
    return bool(translator.map_field(sco_type, prop)) and (
        not comparator or f"ComparisonComparators.{comparator}" in operators
    )


@dataclass(frozen=True)
class SourceReach:
    """The dialects of one stix-shifter source, and how it words a pattern it cannot map."""

    source: str
    where: str
    connector: str
    dialects: tuple[Mapped, ...]

    def of(self, parsed: ParsedPattern) -> Reach:
        return reach_of(parsed, self.dialects)

    def error(self, reach: Reach) -> str:
        """The error the source's query translation gives for a pattern nothing of which maps
        (stix-shifter's own words, as a fetch of that pattern alone reports them)."""
        from huntline.fetch.sources.retry import Caller

        answer = {
            "success": False,
            "code": "mapping_error",
            "error": f"{self.connector} connector error => data mapping error : {MAPPING_ERROR} "
            f"{list(reach.unmapped)} to data source fields",
        }
        return str(Caller(self.source, self.where).error("query translation", answer))


#: stix-shifter's words for a pattern it cannot map (``stix_translation.MAPPING_ERROR``).
MAPPING_ERROR = "Unable to map the following STIX objects and properties:"


def source_reach(source: str) -> SourceReach | None:
    """The reach of ``source`` when it is a stix-shifter profile whose connector is installed;
    None for other sources, or a profile that cannot be resolved here (its fetch then fails
    with the reason)."""
    from huntline.errors import DataSourceError
    from huntline.fetch.sources.resolve import resolve_source
    from huntline.fetch.sources.stixshifter import StixShifterSource

    try:
        resolved = resolve_source(source)
    except DataSourceError:
        return None
    if not isinstance(resolved, StixShifterSource):
        return None
    profile = resolved.profile
    options = profile.connection.get("options")
    try:
        dialects = connector_reach(profile.connector, options if isinstance(options, dict) else {})
    except Exception:  # a broken connector: its fetch reports it
        return None
    return SourceReach(source, resolved.describe(), profile.connector, tuple(dialects))
