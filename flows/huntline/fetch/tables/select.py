"""Keep the rows of an entity table that satisfy a STIX pattern, as Kestrel's ``GET`` does.

A data source returns whole observations, and flattening one gives every process in it: the
match, its parent, its children. Kestrel 1.x keeps only the entities that satisfy the pattern
(firepit's ``extract`` turns it into an SQL ``WHERE`` on the entity table with
``stix20.stix2sql``). :func:`entity_filter` builds that row filter for ``pyarrow.compute``.

The rule for entity type ``E``:

1. Each observation expression ``[...]`` gives its comparison expression *restricted to* ``E``:
   a comparison on another type is dropped, i.e. it becomes the neutral element of the operator
   around it (True under AND, False under OR), and so is a sub-expression left empty. So
   ``[process:name = 'x' AND network-traffic:dst_port = 80]`` keeps the processes named x (the
   port was enforced on the observation by the matcher or connector), and
   ``[process:name = 'x' OR file:name = 'y']`` keeps only those too. firepit drops them alike.
2. Those filters are ORed, whatever joins the observation expressions (AND, OR, FOLLOWEDBY) and
   whatever qualifies them (START/STOP, WITHIN, REPEATS select observations, not entities). An
   entity satisfies the pattern if it satisfies any of them. firepit ORs an observation OR but
   ANDs an observation AND (one entity must satisfy both, so it usually returns nothing), and
   its grammar rejects FOLLOWEDBY, WITHIN and REPEATS.
3. A pattern with no comparison on ``E`` does not apply (:attr:`EntityFilter.applies`), and
   :meth:`EntityFilter.mask` keeps every row, as firepit's extract without a WHERE does.

Per comparison:

- Paths name columns as flattening does: ``parent_ref.name``, ``hashes.'SHA-256'`` (keys with
  ``-`` quoted), ``extensions.'<ext>'.<rest>`` -> ``x_<rest>``. ``<list>[*] = v`` and
  ``<list>[*] IN (...)`` look for an element equal to ``v`` in the list column's JSON text
  (firepit uses a LIKE). Other index steps (``[0]``, ``[*]`` with another operator or mid-path)
  are unsupported: a warning is logged once, and the comparison is false for every row.
- A column missing from the table is false for every row (the entity lacks the property), and
  so is a null value, with or without NOT, as in SQL and stix2-matcher.
- Types are coerced, never fatal: a number against text parses the text (non-numbers are
  null); a string against a numeric column compares as a number if it parses as one, else as
  text; a boolean against text matches ``1/0/true/false``; ``t'...'`` compares as an instant
  (text is parsed as ISO 8601); ``b'...'`` and ``h'...'`` compare as base64 text, which is how
  binary properties are stored.
- LIKE is SQL LIKE, anchored and case-sensitive (``%`` and ``_`` match newlines too), as in
  stix2-matcher; firepit on SQLite is case-insensitive for ASCII.
- MATCHES searches (unanchored), as stix2-matcher and firepit do, but with RE2, not PCRE:
  look-around and back-references raise :class:`~huntline.errors.FetchError` when the filter is
  built. ``.`` skips newlines unless the regex starts ``(?s)`` (firepit adds DOTALL).
- ISSUBSET / ISSUPERSET compare IPv4/IPv6 addresses and CIDR blocks by :mod:`huntline.networks`
  (a value of the other family, or no address, is not inside), once per distinct value.
- EXISTS is STIX 2.1: the 2.0 grammar used here (and by the hunt book loader) rejects it, as it
  rejects anything unparsable, with a :class:`~huntline.errors.FetchError`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass, field
from functools import reduce
from types import SimpleNamespace
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
from antlr4 import ParserRuleContext
from stix2patterns.exceptions import ParseException
from stix2patterns.v20.grammars.STIXPatternParser import (
    STIXPatternParser as P,
)
from stix2patterns.v20.pattern import Pattern

from huntline import networks
from huntline.errors import FetchError

__all__ = ["EntityFilter", "entity_filter"]

log = logging.getLogger(__name__)

_INSTANT = pa.timestamp("ns", tz="UTC")
_NULL_BOOL = pa.scalar(None, pa.bool_())
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$"
_RE2_SPECIAL = frozenset("\\.^$|?*+()[]{}")
_SHORTEN = re.compile(r"(^|_ref\.)extensions\.'(x-)?[\w-]+'\.")  # as flattening shortens


@dataclass(frozen=True)
class _Test:
    """``column op value``: op is ``=`` ``<`` ``<=`` ``>`` ``>=``, ``MATCHES`` (an RE2 regex, also
    for LIKE and ``[*]``), ``ISSUBSET``, ``ISSUPERSET`` or ``NEVER`` (unsupported)."""

    column: str
    op: str
    value: Any = None
    negated: bool = False


@dataclass(frozen=True)
class _Junction:
    conjunction: bool
    parts: tuple[_Test | _Junction, ...]


_Node = _Test | _Junction


@dataclass(frozen=True)
class EntityFilter:
    """The row filter of one STIX pattern for one entity type; see the module docstring."""

    pattern: str
    entity: str
    columns: tuple[str, ...] = field(init=False)
    tree: _Node | None = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(dict.fromkeys(_columns(self.tree))))

    @property
    def applies(self) -> bool:
        """False when the pattern has no comparison on ``entity``: every row is kept."""
        return self.tree is not None

    def mask(self, table: pa.Table) -> pa.BooleanArray:
        """A null-free boolean per row of ``table``: True for the rows that satisfy the pattern."""
        if self.tree is None:
            return _constant(True, table.num_rows)
        result = _evaluate(self.tree, table)
        return result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result


def entity_filter(pattern: str, entity: str) -> EntityFilter:
    """Build the row filter that keeps the ``entity`` rows satisfying ``pattern``.

    Args:
        pattern: A STIX 2.0 pattern, as in a ``get`` step's ``where``.
        entity: The SCO type of the table to filter, e.g. ``process``.

    Raises:
        FetchError: The pattern does not parse, or holds a MATCHES regex RE2 cannot compile, an
            invalid CIDR block or an invalid timestamp.
    """
    try:
        # A "visitor" returning the tree itself: Pattern has no other public way to its tree.
        tree = Pattern(pattern).visit(SimpleNamespace(visit=lambda root: root))
    except ParseException as e:
        raise FetchError(f"invalid STIX pattern {pattern!r}: {e}", pattern=pattern) from e
    builder = _Builder(pattern, entity)
    parts = [builder.expression(c) for c in _observations(tree)]
    return EntityFilter(pattern, entity, _join(False, parts))


class _Builder:
    """Turns parse-tree comparison expressions into :class:`_Node` trees for one entity type."""

    def __init__(self, pattern: str, entity: str) -> None:
        self.pattern = pattern
        self.entity = entity

    def expression(self, ctx: Any) -> _Node | None:
        if isinstance(ctx, (P.ComparisonExpressionContext, P.ComparisonExpressionAndContext)):
            operands = _chain(ctx)
            if len(operands) > 1:
                conjunction = isinstance(ctx, P.ComparisonExpressionAndContext)
                return _join(conjunction, [self.expression(o) for o in operands])
            return self.expression(operands[0])
        if isinstance(ctx, P.PropTestParenContext):
            return self.expression(ctx.comparisonExpression())
        return self.test(ctx)

    def test(self, ctx: Any) -> _Node | None:
        path = ctx.objectPath()
        if path.objectType().getText() != self.entity:
            return None
        steps = _steps(path)
        star = steps[-1] is None
        column = _column(steps[:-1] if star else steps)
        negated = bool(ctx.NOT())
        values: list[Any] = []
        if isinstance(ctx, P.PropTestEqualContext):
            negated ^= bool(ctx.NEQ())
            values = [self.literal(ctx.primitiveLiteral())]
        elif isinstance(ctx, P.PropTestSetContext):
            values = [self.literal(v) for v in ctx.setLiteral().primitiveLiteral()]
        if column is not None and star and values and not negated:
            return _join(False, [_Test(column, "MATCHES", _element(v)) for v in values])
        if column is None or star:
            log.warning(
                "STIX pattern %r: %s cannot be evaluated on a %s table; it is false for every row",
                self.pattern,
                self.pattern[ctx.start.start : ctx.stop.stop + 1],
                self.entity,
            )
            return _Test(path.getText(), "NEVER")
        if values:  # = != IN; NOT IN is a conjunction of NOT =
            return _join(negated, [_Test(column, "=", v, negated) for v in values])
        if isinstance(ctx, P.PropTestOrderContext):
            op = (ctx.GT() or ctx.LT() or ctx.GE() or ctx.LE()).getText()
            return _Test(column, op, self.literal(ctx.orderableLiteral()), negated)
        text = _unquote(ctx.StringLiteral().getText())
        if isinstance(ctx, P.PropTestLikeContext):
            return _Test(column, "MATCHES", _like_regex(text), negated)
        if isinstance(ctx, P.PropTestRegexContext):
            return _Test(column, "MATCHES", self.regex(text), negated)
        op = "ISSUBSET" if isinstance(ctx, P.PropTestIsSubsetContext) else "ISSUPERSET"
        return _Test(column, op, self.network(text), negated)

    def literal(self, ctx: Any) -> Any:
        if isinstance(ctx, P.PrimitiveLiteralContext) and ctx.orderableLiteral():
            ctx = ctx.orderableLiteral()
        token = ctx.getChild(0)
        kind, text = token.getSymbol().type, token.getText()
        if kind == P.StringLiteral:
            return _unquote(text)
        if kind in (P.IntPosLiteral, P.IntNegLiteral):
            return int(text)
        if kind in (P.FloatPosLiteral, P.FloatNegLiteral):
            return float(text)
        if kind == P.BoolLiteral:
            return text.lower() == "true"
        if kind == P.HexLiteral:
            return base64.b64encode(bytes.fromhex(text[2:-1])).decode()
        if kind == P.BinaryLiteral:
            return text[2:-1]
        try:  # TimestampLiteral: parsed by Arrow, as text columns will be
            return pc.cast(pa.array([text[2:-1]]), _INSTANT)[0]
        except (pa.ArrowInvalid, ValueError) as e:
            raise self.error(f"timestamp {text} is not a valid date and time") from e

    def regex(self, regex: str) -> str:
        try:  # Arrow compiles lazily, so compile against one value to fail now, not per batch
            pc.match_substring_regex(pa.array([""]), regex)
        except pa.ArrowInvalid as e:
            raise self.error(
                f"MATCHES regex {regex!r} is not valid RE2: {e}",
                hint="huntline evaluates MATCHES with RE2 (no look-around or back-references)",
            ) from e
        return regex

    def network(self, text: str) -> networks.Network:
        try:
            return networks.network(text)
        except ValueError as e:
            raise self.error(f"{text!r} is not an IP address or CIDR block") from e

    def error(self, message: str, hint: str | None = None) -> FetchError:
        return FetchError(
            f"STIX pattern {self.pattern!r}: {message}", hint=hint, pattern=self.pattern
        )


def _observations(tree: Any) -> list[Any]:
    """The comparison expression of every ``[...]`` in the pattern, left to right."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, P.ObservationExpressionSimpleContext):
            found.append(node.comparisonExpression())
        elif isinstance(node, ParserRuleContext):
            stack.extend(reversed(list(node.getChildren())))
    return found


def _chain(ctx: Any) -> list[Any]:
    """The operands of a left-recursive ``a OR b OR c`` chain, without recursing per operator."""
    operands, stack = [], [ctx]
    while stack:
        kids = [k for k in stack.pop().getChildren() if isinstance(k, ParserRuleContext)]
        if len(kids) == 1:
            operands.append(kids[0])
        else:
            stack.extend(reversed(kids))
    return operands


def _steps(path: Any) -> list[str | int | None]:
    """The path's keys and indexes after the type; ``None`` stands for ``[*]``."""
    steps: list[str | int | None] = [_key(path.firstPathComponent())]
    stack = [path.objectPathComponent()] if path.objectPathComponent() else []
    while stack:
        step = stack.pop()
        if isinstance(step, P.PathStepContext):
            stack.extend(reversed(step.objectPathComponent()))
        elif isinstance(step, P.IndexPathStepContext):
            steps.append(None if step.ASTERISK() else int(step.getText()[1:-1]))
        else:
            steps.append(_key(step))
    return steps


def _key(ctx: Any) -> str:
    literal = ctx.StringLiteral()
    return _unquote(literal.getText()) if literal else str(ctx.IdentifierWithoutHyphen().getText())


def _column(steps: list[str | int | None]) -> str | None:
    """The column flattening gives to a path of keys, or None for a path with an index step."""
    if not all(isinstance(step, str) for step in steps):
        return None
    name = ".".join(f"'{s}'" if "-" in str(s) else str(s) for s in steps)
    return _SHORTEN.sub(r"\1x_", name) if "extensions." in name else name


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def _re2_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in _RE2_SPECIAL else c for c in text)


def _like_regex(like: str) -> str:
    body = "".join({"%": ".*", "_": "."}.get(c) or _re2_escape(c) for c in like)
    return f"(?s)^{body}$"


def _element(value: Any) -> str:
    """A regex for a list column's JSON text holding an element equal to ``value``."""
    plain = value if isinstance(value, (str, int, float)) else str(value)
    token = json.dumps(plain, ensure_ascii=False).replace("/", "\\/")
    return rf"(^|[\[,]){_re2_escape(token)}([,\]]|$)"


def _join(conjunction: bool, parts: list[_Node | None]) -> _Node | None:
    """AND/OR of ``parts`` with dropped (None) parts left out: the neutral element."""
    kept = tuple(part for part in parts if part is not None)
    return None if not kept else kept[0] if len(kept) == 1 else _Junction(conjunction, kept)


def _columns(node: _Node | None) -> list[str]:
    if node is None:
        return []
    if isinstance(node, _Junction):
        return [name for part in node.parts for name in _columns(part)]
    return [] if node.op == "NEVER" else [node.column]


def _constant(value: bool, length: int) -> pa.BooleanArray:
    return pc.fill_null(pa.nulls(length, pa.bool_()), value)


_Booleans: TypeAlias = pa.Array | pa.ChunkedArray


def _evaluate(node: _Node, table: pa.Table) -> _Booleans:
    if isinstance(node, _Junction):
        combine = pc.and_ if node.conjunction else pc.or_
        return reduce(combine, (_evaluate(part, table) for part in node.parts))
    if node.op == "NEVER" or node.column not in table.column_names:
        return _constant(False, table.num_rows)
    column = table.column(node.column)
    if pa.types.is_dictionary(column.type):  # e.g. from a pandas categorical
        column = column.cast(column.type.value_type)
    result = _compare(column, node.op, node.value)
    if result is None:
        return _constant(False, table.num_rows)
    if node.negated:
        result = pc.invert(result)
    return pc.and_(pc.fill_null(result, False), pc.is_valid(column))


def _compare(column: pa.ChunkedArray, op: str, value: Any) -> _Booleans | None:
    """``column op value`` with nulls where undecidable, or None when no row can satisfy it."""
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if op == "MATCHES":
        return pc.match_substring_regex(column, value) if text else None
    if op in ("ISSUBSET", "ISSUPERSET"):
        return _network_test(column, value, op == "ISSUBSET") if text else None
    aligned = _align(column, value, text)
    if aligned is None:
        return None
    function = {"=": pc.equal, "<": pc.less, "<=": pc.less_equal}.get(op)
    function = function or {">": pc.greater, ">=": pc.greater_equal}[op]
    return function(*aligned)


def _align(column: pa.ChunkedArray, value: Any, text: bool) -> tuple[Any, Any] | None:
    """Column and literal in one comparable type (module docstring, "Types"), or None."""
    kind = column.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if isinstance(value, pa.TimestampScalar):
        if text:
            return _parsed(column, _ISO, _INSTANT), value
        return (pc.cast(column, _INSTANT), value) if pa.types.is_timestamp(kind) else None
    if isinstance(value, bool):
        if pa.types.is_boolean(kind) or numeric:
            return column, value if pa.types.is_boolean(kind) else int(value)
        if text:
            lowered = pc.utf8_lower(column)
            truth = pc.if_else(pc.is_in(lowered, pa.array(["1", "true"])), True, _NULL_BOOL)
            return pc.if_else(pc.is_in(lowered, pa.array(["0", "false"])), False, truth), value
        return None
    if isinstance(value, (int, float)):
        if numeric:
            return column, value
        return (_parsed(column, _NUMBER, pa.float64()), value) if text else None
    if text:
        return column, value
    if numeric:
        if re.match(_NUMBER, value):
            return column, float(value)
        return pc.cast(column, pa.large_string()), value
    return None


def _parsed(column: pa.ChunkedArray, shape: str, target: pa.DataType) -> pa.ChunkedArray:
    """Text cast to ``target``, with values not of ``shape`` as null rather than an error."""
    trimmed = pc.utf8_trim_whitespace(column)
    valid = pc.match_substring_regex(trimmed, shape)
    return pc.cast(pc.if_else(valid, trimmed, pa.scalar(None, trimmed.type)), target)


def _network_test(column: pa.ChunkedArray, network: Any, subset: bool) -> _Booleans:
    """ISSUBSET / ISSUPERSET, decided once per distinct value of the column."""
    values = pc.unique(column).to_pylist()
    if subset:
        hits = [value for value in values if networks.contains(network, value)]
    else:
        hits = [value for value in values if networks.contained_by(value, network)]
    return pc.is_in(column, value_set=pa.array(hits, type=column.type))
