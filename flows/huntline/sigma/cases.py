"""Test cases generated from a converted rule: a row that must alert, and one that must not.

The positive row is built from the rule's own local condition: each column gets a value that
meets the tests an ``and`` asks of it (an equality as written; ``startswith`` text, then the
``contains`` texts, then the ``endswith`` text; a path split into directory and name), an
``or`` takes its first alternative that can be built, and ``not`` is left to the check. The
negative row gives every column a neutral value. Both rows are checked against the condition
before they are used, and a rule whose rows cannot be built (a regular expression to satisfy,
say) gets no generated case rather than a wrong one.

The rows become STIX observed-data (:func:`observation`), so a case run through the compiled
flow tests the pushed-down pattern too: this is what catches mapping and escaping bugs across
thousands of rules without hand-written cases.
"""

from __future__ import annotations

import ast
import ipaddress
from collections import defaultdict
from typing import Any

import pandas as pd

from huntline.expressions import _column_name, evaluate, parse_condition
from huntline.sigma.fields import PATHS

Constraints = dict[str, list[tuple[str, Any]]]
_TESTS = {
    "icontains": "contains",
    "contains": "contains",
    "istartswith": "startswith",
    "startswith": "startswith",
    "iendswith": "endswith",
    "endswith": "endswith",
}
#: Which STIX object a reference property points at, to nest a row's dotted columns.
REF_TYPES = {
    "binary_ref": "file",
    "parent_directory_ref": "directory",
    "parent_ref": "process",
    "creator_user_ref": "user-account",
    "src_ref": "ipv4-addr",
    "dst_ref": "ipv4-addr",
}
NEUTRAL_PATH = "C:\\Program Files\\Neutral\\neutral-app.bin"


def positive_row(condition: str) -> dict[str, Any] | None:
    """A row that meets ``condition``, or None when none can be built."""
    tree = parse_condition(condition).tree.body
    constraints: Constraints = defaultdict(list)
    if not _collect(tree, constraints):
        return None
    row: dict[str, Any] = {}
    for column, tests in constraints.items():
        value = _value(tests, is_path=column in PATHS)
        if column in PATHS:
            _put_path(row, column, value)
        elif value is not None:
            row[column] = value
    return row if _meets(condition, row) else None


def negative_row(condition: str, positive: dict[str, Any]) -> dict[str, Any] | None:
    """The positive row with every value neutral, if that does not meet ``condition``."""
    row: dict[str, Any] = {}
    for column, value in positive.items():
        if column.endswith("parent_directory_ref.path") or column.endswith("name"):
            directory, _, name = NEUTRAL_PATH.rpartition("\\")
            row[column] = directory if column.endswith("path") else name
        elif isinstance(value, bool):
            row[column] = not value
        elif isinstance(value, int | float):
            row[column] = 0
        else:
            row[column] = "neutral value"
    return None if _meets(condition, row) else row


def _meets(condition: str, row: dict[str, Any]) -> bool:
    return bool(evaluate(parse_condition(condition), pd.DataFrame([row])).iloc[0])


def _collect(node: ast.expr, into: Constraints) -> bool:
    """Add what ``node`` asks of each column; False when it cannot be built."""
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_collect(value, into) for value in node.values)
        for value in node.values:  # or: the first alternative that can be built
            trial: Constraints = defaultdict(list, {k: list(v) for k, v in into.items()})
            if _collect(value, trial):
                into.clear()
                into.update(trial)
                return True
        return False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return True  # left to the final check
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name, args = node.func.id, node.args
        column = _source(args[0]) if args else None
        if column is None:
            return False
        if name in _TESTS and isinstance(args[1], ast.Constant):
            into[column].append((_TESTS[name], args[1].value))
            return True
        if name == "exists":
            into[column].append(("exists", None))
            return True
        if name == "missing":
            into.setdefault(column, [])
            return True
        if name == "cidr" and isinstance(args[1], ast.Constant):
            network = ipaddress.ip_network(str(args[1].value), strict=False)
            into[column].append(("eq", str(next(iter(network.hosts()), network[0]))))
            return True
        return False
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        if isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.args:
            column = _source(left.args[0])
            if column is None:
                return False
            wanted = _literal(right)
            if wanted is None:
                return False
            op = node.ops[0]
            if isinstance(op, ast.Eq | ast.In):
                into[column].append(("eq", wanted))
            elif isinstance(op, ast.Gt | ast.GtE | ast.Lt | ast.LtE) and left.func.id == "num":
                shift = {ast.Gt: 1, ast.GtE: 0, ast.Lt: -1, ast.LtE: 0}[type(op)]
                into[column].append(("eq", wanted + shift))
            else:
                return False
            return True
        column = _source(left)
        if column is not None and isinstance(node.ops[0], ast.Eq):
            other = _source(right)
            if other is not None:  # a field reference: both the same value
                into[column].append(("eq", "same value"))
                into[other].append(("eq", "same value"))
                return True
            wanted = _literal(right)
            if wanted is not None:
                into[column].append(("eq", wanted))
                return True
    return False


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant):
        return node.elts[0].value
    return None


def _source(node: ast.expr) -> str | None:
    """The column a test reads: a column, or a path(dir, name) as its virtual path column."""
    name = _column_name(node)
    if name is not None:
        return name
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "path":
        directory = _column_name(node.args[0])
        if directory and directory.endswith("parent_directory_ref.path"):
            return directory[: -len("parent_directory_ref.path")] + "path"
    return None


def _value(tests: list[tuple[str, Any]], *, is_path: bool) -> Any:
    """A value meeting every test of one column."""
    kinds = defaultdict(list)
    for kind, text in tests:
        kinds[kind].append(text)
    if kinds["eq"]:
        return kinds["eq"][0]
    if not tests:
        return None
    start = "".join(kinds["startswith"][:1])
    end = "".join(kinds["endswith"][:1])
    middle = " ".join(kinds["contains"])
    if is_path:
        start = start or "C:\\Users\\analyst"
        end = end or "\\tool.exe"
    elif not (start or middle or end):
        return "value"
    return f"{start}{' ' if start and middle else ''}{middle}{' ' if middle and end else ''}{end}"


def _put_path(row: dict[str, Any], column: str, value: Any) -> None:
    prefix = column[: -len("path")]
    text = str(value)
    cut = max(text.rfind("\\"), text.rfind("/"))
    row[prefix + "parent_directory_ref.path"] = text[:cut] if cut > 0 else "C:"
    row[prefix + "name"] = text[cut + 1 :]


def observation(entity: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """One observed-data's objects holding ``row``: the entity first, references nested."""
    objects: list[dict[str, Any]] = [{"type": entity}]
    refs: dict[tuple[str, ...], int] = {(): 0}
    for column, value in row.items():
        parts = _split(column)
        holder: tuple[str, ...] = ()
        for part in parts[:-1]:
            key = (*holder, part)
            if part == "hashes":
                break
            if key not in refs:
                refs[key] = len(objects)
                objects.append({"type": REF_TYPES.get(part, "x-unknown")})
                objects[refs[holder]][part] = str(refs[key])
            holder = key
        target = objects[refs[holder]]
        if "hashes" in parts:
            target.setdefault("hashes", {})[parts[-1].strip("'")] = value
        else:
            target[parts[-1]] = value
    for item in objects:  # an address object's type follows its value
        if item["type"] == "ipv4-addr" and ":" in str(item.get("value", "")):
            item["type"] = "ipv6-addr"
    return objects


def _split(column: str) -> list[str]:
    """``binary_ref.hashes.'SHA-256'`` -> ``['binary_ref', 'hashes', "'SHA-256'"]``."""
    parts: list[str] = []
    for piece in column.split("."):
        if parts and parts[-1].startswith("'") and not parts[-1].endswith("'"):
            parts[-1] += "." + piece
        else:
            parts.append(piece)
    return parts
