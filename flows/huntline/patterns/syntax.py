"""A STIX pattern -> a small typed tree that the local evaluator walks.

The pattern is parsed with ``stix2patterns`` (the OASIS grammar, as stix2-matcher parses it):
the STIX 2.0 grammar first, then the 2.1 grammar, which adds ``EXISTS``. Both grammars' parse
trees are read by their context class *names*, so one reader serves the two.

Literals become the Python values stix2-matcher gives them (``'..'`` str, ``1`` int, ``1.5``
float, ``true`` bool, ``t'..'`` an aware datetime, ``b'..'``/``h'..'`` bytes), because the
type rules of the comparisons (:mod:`.compare`) are stated over those values.

Only what the local evaluator can decide is accepted: observation expressions joined by ``OR``,
each optionally qualified by ``START t'..' STOP t'..'``. ``AND``/``FOLLOWEDBY`` between
observation expressions, ``WITHIN`` and ``REPEATS`` relate several observations; they raise
:class:`~huntline.errors.PatternError` naming the part (the bundle source hands such patterns
to stix2-matcher instead).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from antlr4 import ParserRuleContext, TerminalNode
from stix2patterns.exceptions import ParseException
from stix2patterns.v20.pattern import Pattern as Pattern20
from stix2patterns.v21.pattern import Pattern as Pattern21

from huntline.errors import PatternError

__all__ = ["Comparison", "Junction", "Observation", "ParsedPattern", "Step", "parse_pattern"]

#: A STIX 2.0 observed-data object, as parsed JSON (the fetch stage's type, restated here so
#: that this library depends on no stage).
ObservedData = dict[str, Any]

#: ``None`` is ``[*]``; an int is ``[n]``; a str is a key.
Step = str | int | None

#: How flattening shortens extension columns (``extensions.'x-foo'.bar`` -> ``x_bar``).
_SHORTEN = re.compile(r"(^|_ref\.)extensions\.'(x-)?[\w-]+'\.")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@dataclass(frozen=True)
class Comparison:
    """``type:path op value``, one comparison expression of the pattern.

    ``flipped`` is NOT xor ``!=``: the comparison's outcome on every value it applies to is
    inverted (a value of another type then passes, as in stix2-matcher).
    """

    sco_type: str
    steps: tuple[Step, ...]
    op: str  # = < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET EXISTS
    value: Any
    flipped: bool
    text: str = field(compare=False)

    @property
    def column(self) -> str | None:
        """The column flattening gives this path, or None when it has an index step."""
        return column_name(self.steps)


@dataclass(frozen=True)
class Junction:
    """``AND`` (``conjunction``) or ``OR`` of comparison expressions within one observation."""

    conjunction: bool
    parts: tuple[Comparison | Junction, ...]


Node = Comparison | Junction


@dataclass(frozen=True)
class Observation:
    """One ``[...]`` with its optional START/STOP (half-open, as the spec says)."""

    expression: Node
    start: datetime | None = None
    stop: datetime | None = None


@dataclass(frozen=True)
class ParsedPattern:
    """A pattern whose observation expressions are joined by ``OR``."""

    text: str
    observations: tuple[Observation, ...]

    def comparisons(self) -> list[Comparison]:
        """Every comparison, left to right."""
        found: list[Comparison] = []
        for observation in self.observations:
            _collect(observation.expression, found)
        return found


def column_name(steps: tuple[Step, ...]) -> str | None:
    """The column flattening gives to a path of keys (``parent_ref.name``,
    ``hashes.'SHA-256'``, ``x_<rest>`` for extension properties), or None with an index step."""
    if not all(isinstance(step, str) for step in steps):
        return None
    name = ".".join(f"'{s}'" if "-" in str(s) else str(s) for s in steps)
    return _SHORTEN.sub(r"\1x_", name) if "extensions." in name else name


def parse_pattern(pattern: str) -> ParsedPattern:
    """Parse ``pattern`` for local evaluation.

    Raises:
        PatternError: It does not parse, holds an invalid literal, or relates several
            observations (the message names the part).
    """
    tree = _tree(pattern)
    reader = _Reader(pattern)
    return ParsedPattern(pattern, tuple(reader.observations(tree)))


def _tree(pattern: str) -> Any:
    grab = SimpleNamespace(visit=lambda root: root)  # Pattern has no other way to its tree
    try:
        return Pattern20(pattern).visit(grab)
    except ParseException as first:
        try:
            return Pattern21(pattern).visit(grab)
        except ParseException:
            raise PatternError(
                f"invalid STIX pattern {pattern!r}: {first}", pattern=pattern
            ) from None


def _name(ctx: Any) -> str:
    return type(ctx).__name__.removesuffix("Context")


def _rules(ctx: Any) -> list[Any]:
    return [kid for kid in ctx.getChildren() if isinstance(kid, ParserRuleContext)]


class _Reader:
    """Reads one parse tree (either grammar) into the dataclasses above."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def part(self, ctx: Any) -> str:
        return str(self.pattern[ctx.start.start : ctx.stop.stop + 1])

    def refuse(self, ctx: Any, why: str) -> PatternError:
        return PatternError(
            f"STIX pattern {self.pattern!r}: {self.part(ctx)!r} cannot be evaluated locally: {why}",
            pattern=self.pattern,
            hint="local evaluation takes observation expressions [...] joined by OR, "
            "each with an optional START t'..' STOP t'..'",
        )

    def observations(self, tree: Any) -> list[Observation]:
        found: list[Observation] = []
        stack = [tree]
        while stack:
            ctx = stack.pop()
            kind = _name(ctx)
            kids = _rules(ctx)
            if kind == "ObservationExpressionAnd" and len(kids) > 1:
                raise self.refuse(ctx, "AND between observation expressions relates two")
            if kind == "ObservationExpressions" and len(kids) > 1:
                raise self.refuse(ctx, "FOLLOWEDBY relates several observations")
            if kind in ("ObservationExpressionWithin", "ObservationExpressionRepeated"):
                raise self.refuse(ctx, "WITHIN and REPEATS relate several observations")
            if kind == "ObservationExpressionStartStop":
                inner, qualifier = kids
                start, stop = (self.literal(_bound(qualifier, i)) for i in (0, 1))
                for observation in self.observations(inner):
                    found.append(Observation(observation.expression, start, stop))
            elif kind == "ObservationExpressionSimple":
                found.append(Observation(self.expression(ctx.comparisonExpression())))
            else:
                stack.extend(reversed(kids))
        return found

    def expression(self, ctx: Any) -> Node:
        kind = _name(ctx)
        if kind in ("ComparisonExpression", "ComparisonExpressionAnd"):
            operands = _chain(ctx)
            if len(operands) == 1:
                return self.expression(operands[0])
            parts = tuple(self.expression(o) for o in operands)
            return Junction(kind == "ComparisonExpressionAnd", parts)
        if kind == "PropTestParen":
            return self.expression(ctx.comparisonExpression())
        return self.comparison(ctx, kind)

    def comparison(self, ctx: Any, kind: str) -> Comparison:
        path = ctx.objectPath()
        sco_type = path.objectType().getText()
        steps = _steps(path)
        flipped = bool(ctx.NOT())
        value: Any = None
        if kind == "PropTestEqual":
            op, flipped = "=", flipped ^ bool(ctx.NEQ())
            value = self.literal(ctx.primitiveLiteral())
        elif kind == "PropTestOrder":
            op = (ctx.GT() or ctx.LT() or ctx.GE() or ctx.LE()).getText()
            value = self.literal(ctx.orderableLiteral())
        elif kind == "PropTestSet":
            op = "IN"
            value = tuple(self.literal(v) for v in ctx.setLiteral().primitiveLiteral())
        elif kind == "PropTestExists":
            op = "EXISTS"
        else:
            op = kind.removeprefix("PropTest").upper().replace("REGEX", "MATCHES")
            value = self.literal(ctx.StringLiteral())
        return Comparison(sco_type, steps, op, value, flipped, self.part(ctx))

    def literal(self, ctx: Any) -> Any:
        token = ctx if isinstance(ctx, TerminalNode) else _first_terminal(ctx)
        kind = token.getSymbol().type
        names = token.parentCtx.parser.symbolicNames
        name, text = names[kind], token.getText()
        if name == "StringLiteral":
            return text[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        if name in ("IntPosLiteral", "IntNegLiteral"):
            return int(text)
        if name in ("FloatPosLiteral", "FloatNegLiteral"):
            return float(text)
        if name == "BoolLiteral":
            return text.lower() == "true"
        try:
            if name == "BinaryLiteral":
                return base64.b64decode(text[2:-1], validate=True)
            if name == "HexLiteral":
                return binascii.a2b_hex(text[2:-1])
            if name == "TimestampLiteral":
                return stix_instant(text[2:-1])
        except (ValueError, binascii.Error) as error:
            raise PatternError(
                f"STIX pattern {self.pattern!r}: {text} is not a valid {name}: {error}",
                pattern=self.pattern,
            ) from None
        raise PatternError(f"STIX pattern {self.pattern!r}: unexpected literal {text}")


def stix_instant(text: str) -> datetime:
    """A STIX timestamp (``2021-01-01T00:00:00.5Z``, upper case T and Z) as an aware datetime.

    Raises:
        ValueError: ``text`` is not one.
    """
    if not _TIMESTAMP.match(text):
        raise ValueError(f"{text!r} is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)")
    whole, _, fraction = text[:-1].partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction + "000000")[:6])) if fraction else moment


def _first_terminal(ctx: Any) -> Any:
    while not isinstance(ctx, TerminalNode):
        ctx = ctx.getChild(0)
    return ctx


def _bound(qualifier: Any, index: int) -> Any:
    """START's (0) or STOP's (1) literal: a timestamp literal in both grammars here."""
    literal = qualifier.TimestampLiteral(index)
    return literal if literal is not None else qualifier.StringLiteral(index)


def _chain(ctx: Any) -> list[Any]:
    """The operands of a left-recursive ``a OR b OR c`` chain, without recursing per operator."""
    operands, stack = [], [ctx]
    while stack:
        kids = _rules(stack.pop())
        if len(kids) == 1:
            operands.append(kids[0])
        else:
            stack.extend(reversed(kids))
    return operands


def _steps(path: Any) -> tuple[Step, ...]:
    steps: list[Step] = [_key(path.firstPathComponent())]
    stack = [path.objectPathComponent()] if path.objectPathComponent() else []
    while stack:
        step = stack.pop()
        kind = _name(step)
        if kind == "PathStep":
            stack.extend(reversed(step.objectPathComponent()))
        elif kind == "IndexPathStep":
            steps.append(None if step.ASTERISK() else int(step.getText()[1:-1]))
        else:
            steps.append(_key(step))
    return tuple(steps)


def _key(ctx: Any) -> str:
    literal = ctx.StringLiteral()
    return literal.getText()[1:-1] if literal else str(ctx.IdentifierWithoutHyphen().getText())


def _collect(node: Node, found: list[Comparison]) -> None:
    if isinstance(node, Junction):
        for part in node.parts:
            _collect(part, found)
    else:
        found.append(node)
