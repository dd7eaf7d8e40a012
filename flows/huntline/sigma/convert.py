"""Sigma rule files -> one :class:`RuleResult` each: the converted rule, or why not.

One bad rule never stops the others: every rule is read, parsed and converted on its own, and
its failure is kept as a :class:`~huntline.errors.SigmaRuleError` naming the file, the reason
(the group ``huntline sigma coverage`` counts) and the field where the error has one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaCollectionError,
    SigmaConditionError,
    SigmaDetectionError,
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaModifierError,
    SigmaRegularExpressionError,
)
from sigma.rule import SigmaRule

from huntline.errors import SigmaRuleError
from huntline.sigma.backend import Conversion, HuntlineBackend
from huntline.sigma.correlation import Correlation, CorrelationRefused, base_rule, correlation
from huntline.yamlfile import parse_yaml_all

#: The rule files a directory holds.
RULE_GLOB = "*.yml"
_FIELD = re.compile(r"field '?([A-Za-z0-9_.']+?)'?[: ]")


@dataclass(frozen=True)
class RuleResult:
    """One rule of one file: converted, or the error that stopped it."""

    path: Path
    rule: SigmaRule | SigmaCorrelationRule | None
    conversion: Conversion | None = None
    error: SigmaRuleError | None = None
    #: A converted correlation's group-by and threshold (``conversion`` is its base rule's).
    correlation: Correlation | None = None

    @property
    def logsource(self) -> str:
        """``product/category/service`` of the rule (``-`` for an unknown part)."""
        if not isinstance(self.rule, SigmaRule):
            return "correlation" if self.rule is not None else "-"
        source = self.rule.logsource
        return "/".join(part or "-" for part in (source.product, source.category, source.service))


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """The rule files named, with every ``*.yml`` under a directory, sorted."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.rglob(RULE_GLOB)) if path.is_dir() else [path])
    return found


def convert_paths(
    paths: Iterable[Path], backend: HuntlineBackend | None = None
) -> Iterator[RuleResult]:
    """Every rule in ``paths`` (files or directories), converted one by one."""
    backend = backend or HuntlineBackend()
    for path in rule_files(paths):
        yield from convert_file(path, backend)


def convert_file(path: Path, backend: HuntlineBackend) -> Iterator[RuleResult]:
    """The rules of one file (a file may hold several YAML documents)."""
    try:
        text = path.read_text(encoding="utf-8")
        # huntline's YAML rules first (alias bombs, nesting, tags: yamlfile), then pySigma's
        documents = parse_yaml_all(text, str(path), SigmaRuleError)
        collection = SigmaCollection.from_yaml(text, collect_errors=True)
        raw = [doc.data for doc in documents if isinstance(doc.data, dict)]
    except SigmaRuleError as error:
        # each problem is "PATH:LINE what": said as the YAML parser's errors are, below
        lines = [p.removeprefix(f"{path}:").split(" ", 1) for p in error.context["problems"]]
        message = "; ".join(f"line {line}: {what}" for line, what in lines)
        yield RuleResult(path, None, error=_error(path, "invalid YAML", f"invalid YAML: {message}"))
        return
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        message = f"invalid YAML: {where}{error.problem or error.context}"
        yield RuleResult(path, None, error=_error(path, "invalid YAML", message))
        return
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        yield RuleResult(path, None, error=_error(path, "invalid YAML", str(error)))
        return
    except SigmaError as error:
        yield RuleResult(path, None, error=_error(path, _reason(error), str(error)))
        return
    # a correlation's base rule is converted once, as part of the correlation's book (pySigma's
    # pipeline changes a rule as it converts it): it is no hunt alone, as Sigma's default
    # ``generate: false`` says; ``generate: true`` is not honoured
    bases = {
        id(reference.rule)
        for rule in collection.rules
        if isinstance(rule, SigmaCorrelationRule)
        for reference in rule.rules or []
        if hasattr(reference, "rule")
    }
    for index, rule in enumerate(collection.rules):
        if id(rule) not in bases:
            yield _convert_rule(path, rule, backend, raw[index] if index < len(raw) else {})


def _convert_rule(
    path: Path,
    rule: SigmaRule | SigmaCorrelationRule,
    backend: HuntlineBackend,
    raw: dict[str, object],
) -> RuleResult:
    if rule.errors:
        first = rule.errors[0]
        message = str(first)
        field = _field_in(raw.get("detection"), message)
        if field:
            message = f"field {field}: {message}"
        return RuleResult(path, rule, error=_error(path, _reason(first), message))
    if isinstance(rule, SigmaCorrelationRule):
        return _convert_correlation(path, rule)
    try:
        # a correlation's base rule outputs nothing (``generate: false``) but keeps its result
        conversions = backend.convert_rule(rule) or rule.get_conversion_result()
    except SigmaError as error:
        reason = _reason(error)
        message = str(error)
        if reason == "unsupported log source":
            source = RuleResult(path, rule).logsource
            message = f"log source {source}: {message}"
        return RuleResult(path, rule, error=_error(path, reason, message))
    return RuleResult(path, rule, conversion=_one(conversions))


def _convert_correlation(path: Path, rule: SigmaCorrelationRule) -> RuleResult:
    """A correlation: its base rule's conversion with the group-by and threshold, or why not
    (:mod:`huntline.sigma.correlation`). The base rule gets a backend of its own: on a backend
    that had converted other rules (book_source's cached one, after two loads of a plain rule)
    pySigma 2.0.1 set no log source state for it, and the rule was refused; not yet understood."""
    try:
        base = base_rule(rule)
        base_result = _convert_rule(path, base, HuntlineBackend(), {})
        if base_result.error is not None:
            error = base_result.error
            message = error.message.removeprefix(f"{path}: ")
            return RuleResult(
                path,
                rule,
                error=_error(path, str(error.context["reason"]), f"base rule: {message}"),
            )
        found = correlation(rule, base)
    except CorrelationRefused as refused:
        return RuleResult(path, rule, error=_error(path, refused.reason, refused.message))
    return RuleResult(path, rule, conversion=base_result.conversion, correlation=found)


def _one(conversions: list[Conversion]) -> Conversion:
    """A rule with several conditions matches when any does."""
    if len(conversions) == 1:
        return conversions[0]
    first = conversions[0]
    return Conversion(
        entity=first.entity,
        logsource=first.logsource,
        pattern=None
        if any(c.pattern is None for c in conversions)
        else " OR ".join(c.pattern for c in conversions if c.pattern),
        condition=" or ".join(f"({c.condition})" for c in conversions),
        columns=tuple(dict.fromkeys(col for c in conversions for col in c.columns)),
    )


def _field_in(detection: object, message: str) -> str | None:
    """The detection field whose modifier or value the parse error quotes (``'contians'``)."""
    quoted = set(re.findall(r"'([^']+)'", message))
    if not quoted or not isinstance(detection, dict):
        return None
    for key, value in _items(detection):
        modifiers = set(key.split("|")[1:])
        values = {str(item) for item in (value if isinstance(value, list) else [value])}
        if quoted & (modifiers | values):
            return key.split("|")[0]
    return None


def _items(node: object) -> Iterator[tuple[str, object]]:
    """Every ``field|modifiers: value`` pair of a raw detection, however nested."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list) and not (
                isinstance(value, list) and all(not isinstance(v, dict) for v in value)
            ):
                yield from _items(value)
            else:
                yield str(key), value
    elif isinstance(node, list):
        for item in node:
            yield from _items(item)


def _reason(error: Exception) -> str:
    text = str(error)
    if isinstance(error, SigmaModifierError) or "modifier" in text.lower():
        return "unsupported modifier"
    if isinstance(error, SigmaRegularExpressionError) or "regular expression" in text:
        return "invalid regular expression"
    if isinstance(error, SigmaFeatureNotSupportedByBackendError):
        for marker, reason in (
            ("unmapped field", "unmapped field"),
            ("huntline maps the categories", "unsupported log source"),
            ("keyword", "keyword-only rule"),
            ("correlation", "correlation rule"),
            ("placeholder", "placeholder"),
        ):
            if marker in text:
                return reason
        return "unsupported feature"
    if isinstance(error, SigmaConditionError | SigmaDetectionError):
        return "invalid detection"
    if isinstance(error, SigmaCollectionError):
        return "invalid rule"
    return "invalid rule"


def _error(path: Path, reason: str, message: str) -> SigmaRuleError:
    message = message.split(" in <")[0]  # pySigma appends its own location; ours is the path
    found = _FIELD.search(message)
    return SigmaRuleError(
        f"{path}: {message}",
        path=str(path),
        reason=reason,
        field=found.group(1) if found else None,
    )
