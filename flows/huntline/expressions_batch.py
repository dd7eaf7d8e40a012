"""Many conditions over one table in one pass: what a pack of Sigma rules needs.

:func:`huntline.expressions.evaluate` reads a whole column for every test of every condition.
A thousand Sigma rules over one table repeat most of that work: the same column lower-cased
again and again, the same test (``iendswith(path(...), '\\\\cmd.exe')``) in dozens of rules,
and each test run over every row although the rows of a column hold far fewer distinct values
(command lines and image paths repeat). :class:`BatchEvaluator` shares all of it, with the
same semantics (it runs the same :data:`~huntline.expressions.FUNCTIONS`):

- every sub-expression that reads one column expression only (``icontains(field('command_line'),
  'x')``, ``lower(field('name')) == 'a'``) is evaluated once per distinct value of that column,
  then spread to the rows by the column's factorized codes;
- every sub-expression is computed once per table, keyed by its text, whichever conditions
  share it;
- ``and``/``or``/``not`` combine numpy boolean arrays.

Measured in ``bench/sigma_eval.py`` against pySigma's SQLite backend.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from huntline.expressions import Condition, _column_name, _evaluate, evaluate

Mask = np.ndarray


class BatchEvaluator:
    """Evaluates conditions over one table, sharing work between them (see the module)."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self._masks: dict[str, Mask] = {}
        self._factorized: dict[str, tuple[np.ndarray, pd.DataFrame]] = {}
        self._texts: dict[tuple[str, bool], pa.Array] = {}

    def evaluate(self, condition: Condition) -> pd.Series:
        """The rows that meet ``condition``: what :func:`huntline.expressions.evaluate` gives."""
        missing = [
            c for c in condition.columns if c not in self.table and c not in condition.optional
        ]
        if missing:  # the plain evaluator raises the error that names them
            return evaluate(condition, self.table)
        return pd.Series(self._mask(condition.tree.body), index=self.table.index)

    def evaluate_all(self, conditions: Iterable[Condition]) -> list[pd.Series]:
        return [self.evaluate(condition) for condition in conditions]

    def _mask(self, node: ast.expr) -> Mask:
        if isinstance(node, ast.BoolOp):
            parts = [self._mask(value) for value in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            result = parts[0]
            for part in parts[1:]:
                result = combine(result, part)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self._mask(node.operand)
        key = ast.dump(node)
        cached = self._masks.get(key)
        if cached is None:
            cached = self._masks[key] = self._leaf(node)
        return cached

    def _leaf(self, node: ast.expr) -> Mask:
        """A test: on the distinct values of its one column expression where it has one."""
        sources = _sources(node)
        if len(sources) != 1:
            return _as_bool(_evaluate(node, self.table), len(self.table))
        [source] = sources
        codes, distinct = self._distinct(source)
        fast = self._text_test(node, source)
        if fast is not None:
            spread_fast: Mask = fast[codes]
            return spread_fast
        rewritten = _Substitute(ast.dump(source)).visit(copy.deepcopy(node))
        assert isinstance(rewritten, ast.expr)
        verdicts = _as_bool(_evaluate(rewritten, distinct), len(distinct))
        spread: Mask = verdicts[codes]
        return spread  # code -1 (a null) takes the last row's verdict: a null

    def _distinct(self, source: ast.expr) -> tuple[np.ndarray, pd.DataFrame]:
        """Factorized codes of a column expression, and its distinct values plus one null, as
        the column :data:`_VALUE` of a frame."""
        key = ast.dump(source)
        if key not in self._factorized:
            values = pd.Series(_evaluate(source, self.table), index=self.table.index)
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            column = pd.Series(uniques).reindex(range(len(uniques) + 1))
            self._factorized[key] = (codes, pd.DataFrame({_VALUE: column}))
        return self._factorized[key]

    def _text_test(self, node: ast.expr, source: ast.expr) -> Mask | None:
        """The verdicts on the distinct values (plus a null) of the text tests most rules are
        made of, as single Arrow kernels over the values lower-cased once (a pandas call costs
        more in overhead than these take); None for any other test."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _TEXT_TESTS
            and len(node.args) == 2
            and node.args[0] is source
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            name, needle = node.func.id, node.args[1].value
            ignore_case = name.startswith("i")
            values = self._text(source, lower=ignore_case)
            verdicts = _TEXT_TESTS[name](values, needle.lower() if ignore_case else needle)
            return _filled(verdicts)
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq | ast.In)
            and isinstance(node.left, ast.Call)
            and isinstance(node.left.func, ast.Name)
            and node.left.func.id == "lower"
            and len(node.left.args) == 1
            and node.left.args[0] is source
        ):
            right = node.comparators[0]
            items = right.elts if isinstance(right, ast.List) else [right]
            texts = [
                item.value
                for item in items
                if isinstance(item, ast.Constant) and isinstance(item.value, str)
            ]
            if len(texts) != len(items):
                return None
            wanted = pa.array(texts, type=pa.string())
            return _filled(pc.is_in(self._text(source, lower=True), value_set=wanted))
        return None

    def _text(self, source: ast.expr, *, lower: bool) -> pa.Array:
        """The distinct values of a source as Arrow text (lower-cased once), plus a null."""
        key = (ast.dump(source), lower)
        if key not in self._texts:
            _, distinct = self._distinct(source)
            values = distinct[_VALUE].astype("string").tolist()
            text = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
            self._texts[key] = pc.utf8_lower(text) if lower else text
        return self._texts[key]


_TEXT_TESTS: dict[str, Callable[[pa.Array, str], pa.Array]] = {
    "contains": lambda values, text: pc.match_substring(values, text),
    "icontains": lambda values, text: pc.match_substring(values, text),
    "startswith": lambda values, text: pc.starts_with(values, text),
    "istartswith": lambda values, text: pc.starts_with(values, text),
    "endswith": lambda values, text: pc.ends_with(values, text),
    "iendswith": lambda values, text: pc.ends_with(values, text),
}


def _filled(verdicts: pa.Array) -> Mask:
    mask: Mask = pc.fill_null(verdicts, False).to_numpy(zero_copy_only=False)
    return mask


#: The column a test's one source is renamed to while it runs on the distinct values.
_VALUE = "__value__"


class _Substitute(ast.NodeTransformer):
    """Every occurrence of one source expression -> ``col("__value__")``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.expr) and ast.dump(node) == self.source:
            return ast.Call(
                func=ast.Name(id="col", ctx=ast.Load()), args=[ast.Constant(_VALUE)], keywords=[]
            )
        result: ast.AST = super().visit(node)
        return result


def _sources(node: ast.expr) -> list[ast.expr]:
    """The column expressions a test reads: columns, and ``path(...)`` as one expression."""
    found: dict[str, ast.expr] = {}

    def visit(item: ast.AST) -> None:
        if isinstance(item, ast.expr) and _column_name(item) is not None:
            found[ast.dump(item)] = item
            return
        if (
            isinstance(item, ast.Call)
            and isinstance(item.func, ast.Name)
            and item.func.id == "path"
        ):
            found[ast.dump(item)] = item
            return
        children = item.args if isinstance(item, ast.Call) else ast.iter_child_nodes(item)
        for child in children:  # a call's function name is not a column
            visit(child)

    visit(node)
    return list(found.values())


def _as_bool(values: object, length: int) -> Mask:
    if isinstance(values, pd.Series):
        mask: Mask = values.fillna(False).astype(bool).to_numpy()
        return mask
    return np.full(length, bool(values))
