"""Row conditions: the small expression language of ``alert.when``.

A condition reads like Python and is evaluated column-wise over a whole table::

    x_suspicious_score >= 2 and parent_ref.name in ['winword.exe', 'excel.exe']
    command_line icontains 'comsvcs' or not exists(user_ref.user_id)
    contains(command_line, '-enc')

Only a safe subset is accepted: names and dotted names (column ``parent_ref.name``), literals,
comparisons (``== != < <= > >= in``, ``not in``), ``and``/``or``/``not``, and the functions in
:data:`FUNCTIONS`. The text tests in :data:`INFIX` read better between their operands
(``command_line icontains 'comsvcs'``), the way hunters write them in Kestrel and SQL, so both
that and the call form are accepted; an infix test binds tighter than ``and``/``or``/``not``.
Anything else (attribute calls, subscripts, lambdas, imports) is rejected at parse time, so a
hunt book can never run arbitrary code. Columns whose names are not Python
identifiers are written ``col("hashes.'SHA-256'")``.

The book stage parses conditions to validate them; the alert stage evaluates them.
"""

from __future__ import annotations

import ast
import io
import keyword
import operator
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huntline import networks
from huntline.errors import HuntlineError
from huntline.lazy import LazyModule
from huntline.linear_regex import HINT as REGEX_HINT
from huntline.linear_regex import RegexError, compile_linear, regex_problem

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
else:  # parsing a condition (loading a book) needs neither: imported when one is evaluated
    pd = LazyModule("pandas")
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")


class ConditionError(HuntlineError, ValueError):
    """A condition does not parse, or cannot be evaluated on a table."""


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string")


def _lowered(series: pd.Series) -> pd.Series:
    return _text(series).str.lower()


def _search(series: pd.Series, pattern: str) -> pd.Series:
    """RE2 (pyarrow), never pandas' ``str.contains``: that falls back to Python's backtracking
    ``re`` for a regex RE2 refuses (see :mod:`huntline.linear_regex`)."""
    compile_linear(pattern)  # checked at parse time; an error here names the regex all the same
    values = pa.array(_text(series), type=pa.large_string(), from_pandas=True)
    found = pc.match_substring_regex(values, pattern).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=series.index, dtype=bool)


def _cidr(series: pd.Series, network: str) -> pd.Series:
    """Whether each value is an IP address inside ``network`` (each distinct value parsed once),
    by :mod:`huntline.networks`' rule, as ISSUBSET: another family, or no address, is false."""
    net = networks.network(network)
    text = _text(series)
    verdicts = {value: networks.contains(net, value) for value in text.dropna().unique()}
    return text.map(verdicts).fillna(False).astype(bool)


def _path(directory: pd.Series, name: pd.Series) -> pd.Series:
    """A file's full path from its directory and name, joined by the directory's separator."""
    folder = _text(directory)
    separator = folder.str.contains("/", regex=False).map({True: "/", False: "\\"})
    trimmed = folder.str.rstrip("\\/")
    return (trimmed + separator.astype("string") + _text(name)).astype("string")


FUNCTIONS: dict[str, Callable[..., pd.Series]] = {
    "contains": lambda s, text: _text(s).str.contains(text, regex=False).fillna(False),
    "icontains": lambda s, text: (
        _text(s).str.lower().str.contains(text.lower(), regex=False).fillna(False)
    ),
    "matches": lambda s, pattern: _search(s, pattern),
    "startswith": lambda s, text: _text(s).str.startswith(text).fillna(False),
    "endswith": lambda s, text: _text(s).str.endswith(text).fillna(False),
    "istartswith": lambda s, text: _lowered(s).str.startswith(text.lower()).fillna(False),
    "iendswith": lambda s, text: _lowered(s).str.endswith(text.lower()).fillna(False),
    "cidr": _cidr,
    "num": lambda s: pd.to_numeric(s, errors="coerce"),
    "path": _path,
    "exists": lambda s: s.notna(),
    "missing": lambda s: s.isna(),
    "lower": lambda s: _text(s).str.lower(),
}
#: The text tests that may also be written between their operands: ``column OP 'text'``.
INFIX = (
    "contains",
    "icontains",
    "matches",
    "startswith",
    "endswith",
    "istartswith",
    "iendswith",
    "cidr",
)
#: How many arguments each function takes; a text test's second one is a text literal.
ARITY = {name: 2 for name in (*INFIX, "path")} | {"exists": 1, "missing": 1, "lower": 1, "num": 1}
#: The literal values a condition may hold (no bytes, complex numbers or ...).
LITERALS = (str, int, float, bool, type(None))
#: Shown with every condition that does not parse, so the fix is one look away.
SYNTAX_HINT = (
    "a condition is comparisons (== != < <= > >= in, not in) joined by and/or/not; text tests "
    "are written infix or as calls: command_line icontains 'comsvcs' or "
    "icontains(command_line, 'comsvcs') (also contains, matches, startswith, endswith, "
    "istartswith, iendswith, cidr; exists(x), missing(x), lower(x), num(x), path(dir, name), "
    "field('x')), e.g. "
    "x_suspicious_score >= 2 and parent_ref.name != 'explorer.exe'"
)
COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@dataclass(frozen=True)
class Condition:
    """A parsed condition and the columns it reads."""

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]
    #: The columns read through ``field("...")``: null where the table lacks them.
    optional: tuple[str, ...] = ()


def parse_condition(text: str) -> Condition:
    """Parse and check a condition; raises :class:`ConditionError` naming what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        tree = _parse_infix(text.strip(), error)
    columns: list[str] = []
    _check(tree.body, columns)
    optional = tuple(
        dict.fromkeys(name for node in ast.walk(tree) if (name := _optional_column(node)))
    )
    return Condition(text=text, tree=tree, columns=tuple(dict.fromkeys(columns)), optional=optional)


def _parse_infix(text: str, original: SyntaxError) -> ast.Expression:
    """Parse ``text`` with its infix text tests turned into calls.

    Each infix ``OP`` becomes ``@ OP @`` (``@`` binds tighter than comparisons and ``and``/``or``,
    and is rejected anywhere else in a condition), so ``a icontains 'x'`` parses as
    ``(a @ icontains) @ 'x'``, which :class:`_InfixToCall` rewrites to ``icontains(a, 'x')``.
    A text that still does not parse is reported with the error of the text as written.
    """
    failure = ConditionError(
        f"condition does not parse at column {original.offset}: {original.msg}", hint=SYNTAX_HINT
    )
    try:
        rewritten = _mark_infix(text)
        if rewritten == text:
            raise failure from original
        tree = _InfixToCall().visit(ast.parse(rewritten, mode="eval"))
    except (SyntaxError, tokenize.TokenError):
        raise failure from original
    assert isinstance(tree, ast.Expression)
    return ast.fix_missing_locations(tree)


def _mark_infix(text: str) -> str:
    """``text`` with every infix text test ``OP`` (one that follows an operand) as ``@ OP @``."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    pieces: list[str] = []
    last = 0
    previous: tokenize.TokenInfo | None = None
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        after_operand = previous is not None and (
            previous.type in (tokenize.STRING, tokenize.NUMBER)
            or previous.string in (")", "]")
            or (previous.type == tokenize.NAME and not keyword.iskeyword(previous.string))
        )
        if token.type == tokenize.NAME and token.string in INFIX and after_operand:
            offset = starts[token.start[0] - 1] + token.start[1]
            pieces.append(f"{text[last:offset]}@ {token.string} @")
            last = offset + len(token.string)
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            previous = token
    return "".join(pieces) + text[last:]


class _InfixToCall(ast.NodeTransformer):
    """``(a @ OP) @ b`` -> ``OP(a, b)``; any other ``@`` stays and is rejected by the check."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        inner = node.left
        if (
            isinstance(node.op, ast.MatMult)
            and isinstance(inner, ast.BinOp)
            and isinstance(inner.op, ast.MatMult)
            and isinstance(inner.right, ast.Name)
            and inner.right.id in INFIX
        ):
            return ast.Call(
                func=ast.Name(id=inner.right.id, ctx=ast.Load()),
                args=[inner.left, node.right],
                keywords=[],
            )
        return node


def _optional_column(node: ast.AST) -> str | None:
    """The name in ``field("name")``: a column that may be absent from the table.

    Sigma's semantics (a field the log source does not deliver is null, so tests on it are
    false) need this; ``col("name")`` and bare names stay strict, so a typo in a hand-written
    condition is still an error.
    """
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "field"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _column_name(node: ast.expr) -> str | None:
    optional = _optional_column(node)
    if optional is not None:
        return optional
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _column_name(node.value)
        return f"{parent}.{node.attr}" if parent else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "col"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _check(node: ast.expr, columns: list[str]) -> None:
    column = _column_name(node)
    if column == "":
        raise ConditionError(f"{ast.unparse(node)}: a column name cannot be empty")
    if column is not None:
        if column in FUNCTIONS:
            raise ConditionError(
                f"{column} is a function: call it, e.g. {column}(command_line, ...)"
            )
        columns.append(column)
        return
    if isinstance(node, ast.Constant):
        _check_literal(node)
        return
    if isinstance(node, ast.List | ast.Tuple):
        if not all(isinstance(item, ast.Constant) for item in node.elts):
            raise ConditionError("lists may hold only literal values")
        for item in node.elts:
            _check_literal(item)  # type: ignore[arg-type]
        return
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, columns)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        _check(node.operand, columns)
        return
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in COMPARISONS and not isinstance(op, ast.In | ast.NotIn):
                raise ConditionError(f"comparison {type(op).__name__} is not supported")
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn) and not isinstance(right, ast.List | ast.Tuple):
                raise ConditionError(
                    f"{ast.unparse(node)!r}: 'in' takes a list of values, e.g. "
                    "name in ['cmd.exe', 'powershell.exe']"
                )
        for part in (node.left, *node.comparators):
            _check(part, columns)
        return
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ConditionError(f"unknown function {node.func.id!r} (known: {known}, col, field)")
        if node.keywords:
            raise ConditionError(f"{node.func.id}() takes no keyword arguments")
        _check_arguments(node.func.id, node.args)
        for argument in node.args:
            _check(argument, columns)
        return
    raise ConditionError(f"{ast.unparse(node)!r} is not allowed in a condition", hint=SYNTAX_HINT)


def _check_literal(node: ast.Constant) -> None:
    if not isinstance(node.value, LITERALS):
        raise ConditionError(
            f"{ast.unparse(node)} is not a literal a condition can hold "
            "(text, a number, True, False or None)"
        )


def _check_arguments(function: str, arguments: list[ast.expr]) -> None:
    """The number of arguments, and a text literal (a valid RE2 regex for matches) second."""
    wanted = ARITY[function]
    if len(arguments) != wanted:
        shown = f"{wanted} argument{'s' if wanted > 1 else ''}"
        raise ConditionError(f"{function}() takes {shown}, got {len(arguments)}")
    if function not in INFIX:
        return
    literal = arguments[1]
    if not isinstance(literal, ast.Constant) or not isinstance(literal.value, str):
        raise ConditionError(
            f"{function}(): the second argument is a text literal, e.g. "
            f"{function}(command_line, 'text'), not {ast.unparse(literal)}"
        )
    if function == "matches" and (problem := regex_problem(literal.value)):
        raise ConditionError(f"matches(): {problem}", hint=REGEX_HINT)
    if function == "cidr":
        try:
            networks.network(literal.value)
        except ValueError as error:
            raise ConditionError(f"cidr(): {error}") from None


def evaluate(condition: Condition, table: pd.DataFrame) -> pd.Series:
    """The boolean mask of rows of ``table`` that meet ``condition``.

    Raises:
        ConditionError: if the condition reads a column the table lacks.
    """
    missing = [
        column
        for column in condition.columns
        if column not in table.columns and column not in condition.optional
    ]
    if missing:
        raise ConditionError(
            f"condition {condition.text!r} reads column(s) {', '.join(missing)} that the table "
            "does not have",
            hint=f"columns available: {', '.join(map(str, table.columns))}",
        )
    try:
        result = _evaluate(condition.tree.body, table)
    except (TypeError, ValueError, RegexError) as error:
        raise ConditionError(
            f"condition {condition.text!r} cannot be evaluated: {error}"
        ) from error
    if not isinstance(result, pd.Series):
        result = pd.Series(bool(result), index=table.index)
    return result.fillna(False).astype(bool)


def _evaluate(node: ast.expr, table: pd.DataFrame) -> Any:
    column = _column_name(node)
    if column is not None:
        if column not in table.columns:  # only a field("...") gets here: null in every row
            return pd.Series(None, index=table.index, dtype="object")
        return table[column]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [item.value for item in node.elts]  # type: ignore[attr-defined]
    if isinstance(node, ast.BoolOp):
        values = [_as_mask(_evaluate(value, table), table) for value in node.values]
        combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        result = values[0]
        for value in values[1:]:
            result = combine(result, value)
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, table)
        return ~_as_mask(operand, table) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        return _compare(node, table)
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return FUNCTIONS[node.func.id](*(_evaluate(argument, table) for argument in node.args))


def _compare(node: ast.Compare, table: pd.DataFrame) -> pd.Series:
    result = pd.Series(True, index=table.index)
    left = _evaluate(node.left, table)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _evaluate(comparator, table)
        if isinstance(op, ast.In | ast.NotIn):
            values = right if isinstance(right, list) else [right]
            mask = _as_series(left, table).isin(values)
            step = ~mask if isinstance(op, ast.NotIn) else mask
        elif right is None or left is None:
            value = left if right is None else right
            nulls = _as_series(value, table).isna()
            step = nulls if isinstance(op, ast.Eq) else ~nulls
        else:
            step = _as_mask(COMPARISONS[type(op)](left, right), table)
        result &= step
        left = right
    return result


def _as_series(value: Any, table: pd.DataFrame) -> pd.Series:
    return (
        value
        if isinstance(value, pd.Series)
        else pd.Series([value] * len(table), index=table.index)
    )


def _as_mask(value: Any, table: pd.DataFrame) -> pd.Series:
    return _as_series(value, table).fillna(False).astype(bool)
