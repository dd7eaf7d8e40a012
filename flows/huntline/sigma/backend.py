"""The huntline pySigma backend: a Sigma rule -> a STIX pattern to push down + a local condition.

A :class:`sigma.conversion.base.Backend` subclass, as pySigma's own backends are built: the
``convert_condition_*`` methods each return a :class:`Half`, both halves of one node of the
rule's condition tree, and :meth:`HuntlineBackend.finalize_query_default` turns the root into a
:class:`Conversion`.

- The **local** half is exact, in huntline's condition language (:mod:`huntline.expressions`).
- The **STIX** half is a sound superset: ``AND`` keeps what its operands can push down, ``OR``
  pushes down only if every operand can, ``NOT`` pushes down nothing; ``MATCHES`` tests of one
  path under ``OR`` merge into one alternation, so a rule's hundred ``|contains`` values stay
  one comparison (stix-shifter's translation time grows fast with the number of comparisons).
  A rule with nothing to push down fetches every entity of its type.

What the backend cannot express raises ``SigmaFeatureNotSupportedByBackendError`` naming the
field: a field no log source maps, keywords without a field, placeholders, timestamp parts,
field references with ``|startswith``/``|endswith``, and correlation rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaFieldReference,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)

from huntline.linear_regex import RegexError, compile_linear
from huntline.sigma.fields import LOG_SOURCES, is_connector_field
from huntline.sigma.pipeline import huntline_pipeline
from huntline.sigma.values import (
    StixTest,
    column_expression,
    local_string,
    regex_with_flags,
    stix_string,
    string_parts,
)

_COMPARE = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
}
#: Pushed-down STIX tests: one test, or an AND/OR of them; None is "cannot narrow".
Stix = StixTest | tuple[str, tuple["Stix", ...]] | None


@dataclass(frozen=True)
class Half:
    """Both halves of one node: the local condition (with its precedence) and the STIX part."""

    local: str
    stix: Stix
    kind: str = "atom"  # atom, not, and, or: decides the parentheses


@dataclass(frozen=True)
class Conversion:
    """A converted rule: what a hunt book's ``get`` and ``alert`` need."""

    entity: str
    logsource: str
    pattern: str | None  # the STIX pattern to push down; None: every entity of the type
    condition: str  # the exact local condition
    columns: tuple[str, ...] = field(default=())  # the columns the condition reads

    @property
    def connector_fields(self) -> tuple[str, ...]:
        """Columns that only some connectors fill (``x_`` properties)."""
        return tuple(column for column in self.columns if is_connector_field(column))


class HuntlineBackend(Backend):
    """pySigma backend for huntline: ``Conversion`` objects, one per rule condition."""

    name: ClassVar[str] = "huntline"
    identifier: ClassVar[str] = "huntline"
    formats: ClassVar[dict[str, str]] = {
        "default": "huntline Conversion objects (STIX pattern + local condition)",
        "text": "the STIX pattern and the local condition as text",
    }
    requires_pipeline: ClassVar[bool] = False
    #: a correlation's base rule becomes a book too (huntline.sigma.correlation): finalized
    finalize_correlation_subqueries: bool = True
    backend_processing_pipeline: ClassVar[ProcessingPipeline] = huntline_pipeline()

    # -- the tree ------------------------------------------------------------------------
    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Half:
        halves = [self._half(arg, state) for arg in cond.args]
        local = " or ".join(half.local for half in halves)
        stix: Stix = None
        if all(half.stix is not None for half in halves):
            stix = _merge_or(tuple(half.stix for half in halves))
        return Half(local, stix, "or") if len(halves) > 1 else halves[0]

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Half:
        halves = [self._half(arg, state) for arg in cond.args]
        local = " and ".join(f"({h.local})" if h.kind == "or" else h.local for h in halves)
        pushed = tuple(half.stix for half in halves if half.stix is not None)
        stix: Stix = None if not pushed else pushed[0] if len(pushed) == 1 else ("AND", pushed)
        return Half(local, stix, "and") if len(halves) > 1 else halves[0]

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Half:
        inner = self._half(cond.args[0], state)
        text = f"({inner.local})" if inner.kind in ("and", "or") else inner.local
        return Half(f"not {text}", None, "not")

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Half:  # pragma: no cover - convert_or_as_in is off
        raise NotImplementedError

    def _half(self, cond: Any, state: ConversionState) -> Half:
        half = self.convert_condition(cond, state)
        assert isinstance(half, Half)
        return half

    # -- field = value -------------------------------------------------------------------
    def _column(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> str:
        """The mapped column of the test's field, or an error naming the unmapped field."""
        logsource = state.processing_state.get("logsource")
        if logsource is None:
            known = ", ".join(sorted(LOG_SOURCES))
            raise SigmaFeatureNotSupportedByBackendError(
                f"not supported (huntline maps the categories {known})"
            )
        mapped = LOG_SOURCES[str(logsource)].fields.values()
        if cond.field not in mapped:
            raise SigmaFeatureNotSupportedByBackendError(
                f"unmapped field {cond.field!r}: log source {logsource} has no column for it"
            )
        return str(cond.field)

    def _pushed(self, column: str, state: ConversionState) -> bool:
        return column in LOG_SOURCES[str(state.processing_state["logsource"])].pushed

    def _string(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState, cased: bool
    ) -> Half:
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaString)
        parts = string_parts(cond.value, column)
        stix = stix_string(column, parts, cased) if self._pushed(column, state) else None
        return Half(local_string(column_expression(column), parts, cased), stix)

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        return self._string(cond, state, cased=False)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        return self._string(cond, state, cased=True)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaNumber)
        return Half(f"num({column_expression(column)}) == {cond.value.number!r}", None)

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaBool)
        return Half(f"{column_expression(column)} == {cond.value.boolean!r}", None)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaRegularExpression)
        regex = regex_with_flags(cond.value)
        try:
            compile_linear(regex)  # huntline matches with RE2 (linear time), not Python's re
        except RegexError as error:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field {cond.field}: regular expression {str(cond.value.regexp)!r} cannot run: "
                f"{error}"
            ) from error
        pushed = self._pushed(column, state) and not column.endswith("path")
        stix = StixTest(column, regex) if pushed else None
        return Half(f"matches({column_expression(column)}, {regex!r})", stix)

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        # Not pushed down: stix2-matcher (the stix_bundle connector) raises on ISSUBSET over an
        # IPv6 value ("Invalid IPv4 address"), so one such address would fail the whole fetch.
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaCIDRExpression)
        network = str(cond.value.network)
        return Half(f"cidr({column_expression(column)}, {network!r})", None)

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaCompareExpression)
        op = _COMPARE[cond.value.op]
        return Half(f"num({column_expression(column)}) {op} {cond.value.number.number!r}", None)

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        column = self._column(cond, state)
        assert isinstance(cond.value, SigmaFieldReference)
        if cond.value.starts_with or cond.value.ends_with:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field {cond.field}: |fieldref with |startswith or |endswith is not supported"
            )
        other = self._column(
            ConditionFieldEqualsValueExpression(cond.value.field, cond.value), state
        )
        return Half(f"{column_expression(column)} == {column_expression(other)}", None)

    def convert_condition_field_eq_val_null(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        return Half(f"missing({column_expression(self._column(cond, state))})", None)

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        return Half(f"exists({column_expression(self._column(cond, state))})", None)

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Half:
        return Half(f"missing({column_expression(self._column(cond, state))})", None)

    # -- what huntline does not do ---------------------------------------------------------
    def _unsupported(self, what: str, cond: Any = None) -> Any:
        where = f"field {cond.field}: " if getattr(cond, "field", None) else ""
        raise SigmaFeatureNotSupportedByBackendError(f"{where}{what} is not supported")

    def convert_condition_field_eq_val_timestamp_part(self, cond: Any, state: Any) -> Any:
        return self._unsupported("a timestamp part (|minute, |hour, ...)", cond)

    def convert_condition_field_eq_query_expr(self, cond: Any, state: Any) -> Any:
        return self._unsupported("a query expression", cond)

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: Any) -> Any:
        return self._unsupported("a keyword (a value without a field)")

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: Any) -> Any:
        return self._unsupported("a keyword (a value without a field)")

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: Any) -> Any:
        return self._unsupported("a keyword (a value without a field)")

    def convert_condition_query_expr(self, cond: ConditionValueExpression, state: Any) -> Any:
        return self._unsupported("a query expression")

    def convert_correlation_rule(
        self, rule: SigmaCorrelationRule, *args: Any, **kwargs: Any
    ) -> list[Any]:
        return self._unsupported(f"a correlation rule ({rule.type.name.lower()})")  # type: ignore[no-any-return]

    convert_correlation_event_count_rule = convert_correlation_rule
    convert_correlation_value_count_rule = convert_correlation_rule
    convert_correlation_temporal_rule = convert_correlation_rule
    convert_correlation_temporal_ordered_rule = convert_correlation_rule
    convert_correlation_extended_temporal_rule = convert_correlation_rule
    convert_correlation_extended_temporal_ordered_rule = convert_correlation_rule
    convert_correlation_value_sum_rule = convert_correlation_rule
    convert_correlation_value_avg_rule = convert_correlation_rule
    convert_correlation_value_percentile_rule = convert_correlation_rule
    convert_correlation_value_median_rule = convert_correlation_rule

    # -- output ----------------------------------------------------------------------------
    def finalize_query_default(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> Conversion:
        assert isinstance(query, Half)
        entity = str(state.processing_state["entity"])
        from huntline.expressions import parse_condition

        columns = parse_condition(query.local).columns
        return Conversion(
            entity=entity,
            logsource=str(state.processing_state["logsource"]),
            pattern=None if query.stix is None else f"[{_render(entity, query.stix)}]",
            condition=query.local,
            columns=columns,
        )

    def finalize_query_text(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> str:
        conversion = self.finalize_query_default(rule, query, index, state)
        return f"where: {conversion.pattern}\nwhen: {conversion.condition}"

    def finalize_output_text(self, queries: list[str]) -> str:
        return "\n\n".join(queries)


_FLAG_GROUP = re.compile(r"\(\?([aiLmsux]+)\)")


def _merge_or(parts: tuple[Stix, ...]) -> Stix:
    """OR of tests; MATCHES tests of one path become one alternation."""
    flat: list[Stix] = []
    for part in parts:
        flat.extend(part[1] if isinstance(part, tuple) and part[0] == "OR" else (part,))
    merged: dict[str, list[str]] = {}
    rest: list[Stix] = []
    for part in flat:
        if isinstance(part, StixTest):
            merged.setdefault(part.path, []).append(part.regex)
        else:
            rest.append(part)
    for path, regexes in merged.items():
        rest.append(StixTest(path, regexes[0] if len(regexes) == 1 else _alternation(regexes)))
    return rest[0] if len(rest) == 1 else ("OR", tuple(rest))


def _alternation(regexes: list[str]) -> str:
    """One regex matching whatever any of ``regexes`` matches (inline flags kept per branch,
    or written once when every branch has the same)."""
    unique = list(dict.fromkeys(regexes))
    flags = {match.group(0) if (match := _FLAG_GROUP.match(regex)) else "" for regex in unique}
    if len(flags) == 1 and (common := flags.pop()):
        return common + "|".join(regex[len(common) :] for regex in unique)
    return "|".join(f"(?:{_scoped(regex)})" for regex in unique)


def _scoped(regex: str) -> str:
    """``(?i)abc`` -> ``(?i:abc)``: a global flag group is only allowed at the start."""
    match = _FLAG_GROUP.match(regex)
    return f"(?{match.group(1)}:{regex[match.end() :]})" if match else regex


def _render(entity: str, stix: Stix) -> str:
    if isinstance(stix, StixTest):
        literal = stix.regex.replace("\\", "\\\\").replace("'", "\\'")
        return f"{entity}:{stix.path} MATCHES '{literal}'"
    assert isinstance(stix, tuple)
    joined = f" {stix[0]} ".join(_render(entity, part) for part in stix[1])
    return f"({joined})"
