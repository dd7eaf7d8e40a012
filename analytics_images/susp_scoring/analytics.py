#!/usr/bin/env python3
"""Suspicious process scoring: a vectorised Kestrel analytics.

Scores every process in ``/data/input/0.parquet.gz`` and writes ``x_suspicious_score`` (plus
``techniques`` and, when connection data exist, ``network_susp_score``) to
``/data/output/0.parquet.gz``. The score is the sum of three steps, all data-driven from
``rules.json``:

1. one point per Sigma command-line glob that matches (search semantics, see below);
2. one point when the process's connection count per ``x_guid`` is a 3-sigma outlier;
3. the points of every rule whose condition tree holds.

Why vectorised: the published scorer runs a rule engine once per row (about 100-2,000 rows/s);
here each glob, each condition and each rule is one column-wide Arrow operation.

Why our own glob translation: pandas 3 runs string regexes with RE2, which rejects the atomic
groups ``(?>...)`` that Python 3.11's ``fnmatch.translate`` emits.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

INPUT_PATH = Path("/data/input/0.parquet.gz")
OUTPUT_PATH = Path("/data/output/0.parquet.gz")
RULES_PATH = Path(__file__).resolve().with_name("rules.json")

SCORE = "x_suspicious_score"
NETWORK_SCORE = "network_susp_score"
TECHNIQUES = "techniques"
_TEXT = pd.StringDtype("pyarrow")  # always Arrow strings, so every regex below runs on RE2
_RE_SPECIAL = frozenset("\\.^$|?*+()[]{}")


def glob_to_re2(pattern: str, *, match_start: bool = True) -> str:
    """Translate an fnmatch glob into an RE2-compatible regex (case-sensitive, as on posix).

    ``*`` is ``.*``, ``?`` is ``.``, ``[...]``/``[!...]`` are character classes, and ``.``
    matches newlines, as in fnmatch. The end is anchored with ``\\z`` (Python's ``\\Z``).
    ``match_start=False`` leaves the start unanchored, which reproduces what
    ``Series.str.contains(fnmatch.translate(p))`` did in the reference: a search for a
    match that ends at the end of the string.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if not out or out[-1] != ".*":  # collapse runs of stars
                out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            klass, i = _char_class(pattern, i)
            out.append(klass)
        else:
            out.append("\\" + char if char in _RE_SPECIAL else char)
    return f"(?s){'^' if match_start else ''}(?:{''.join(out)})\\z"


def _char_class(pattern: str, start: int) -> tuple[str, int]:
    """Parse a glob ``[...]`` that opened before ``start``; an unclosed ``[`` is literal."""
    j = start
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 1
    if j >= len(pattern):
        return "\\[", start
    body = pattern[start:j]
    negate = body.startswith("!")
    body = body[1:] if negate else body
    escaped = "".join("\\" + ch if ch in "\\[]^" else ch for ch in body)
    return f"[{'^' if negate else ''}{escaped}]", j + 1


def load_rules(path: Path = RULES_PATH) -> dict[str, Any]:
    """Read the rules file (patterns, network outlier settings, condition rules)."""
    return json.loads(path.read_text(encoding="utf-8"))


class _Columns:
    """Each referenced column once as Arrow text, nulls as "" (the rule engine's view)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[str, pd.Series] = {}

    def text(self, name: str) -> pd.Series:
        if name not in self._cache:
            if name in self.frame.columns:
                column = self.frame[name].astype(_TEXT).fillna("")
            else:  # a missing attribute reads as "" in the reference, never as an error
                column = pd.Series("", index=self.frame.index, dtype=_TEXT)
            self._cache[name] = column
        return self._cache[name]


def _search(text: pd.Series, regex: str) -> pd.Series:
    """Unanchored RE2 search; capture groups are fine here, so pandas' warning is noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This pattern is interpreted", UserWarning)
        return text.str.contains(regex, regex=True)


def score_patterns(columns: _Columns, patterns: Sequence[str], points: int) -> pd.Series:
    """Points for every glob the command line matches (missing command lines match none)."""
    command_line = columns.text("command_line")
    score = pd.Series(0, index=command_line.index, dtype="int64")
    for pattern in patterns:
        hits = _search(command_line, glob_to_re2(pattern, match_start=False))
        score += hits.astype("int64") * points
    return score


def network_scores(frame: pd.DataFrame, columns: _Columns) -> pd.Series | None:
    """Connections per ``x_guid`` for rows with a command line, or None without the data.

    Prefers ``x_opened_connection_count`` (summed) over distinct
    ``opened_connection_ref_0.id`` values, as the reference does. An existing
    ``network_susp_score`` column is added to (the reference's only non-crashing path).
    """
    if "x_opened_connection_count" in frame.columns:
        column, how = "x_opened_connection_count", "sum"
    elif "opened_connection_ref_0.id" in frame.columns:
        column, how = "opened_connection_ref_0.id", "nunique"
    else:
        return None
    if "x_guid" not in frame.columns:
        return None
    per_guid = frame.groupby("x_guid")[column].transform(how).fillna(0)
    has_command = columns.text("command_line") != ""
    base = frame[NETWORK_SCORE] if NETWORK_SCORE in frame.columns else 0
    return base + per_guid.where(has_command.to_numpy(dtype=bool), 0)


def outlier_mask(values: pd.Series, k: float) -> pd.Series:
    """Values more than ``k`` sample standard deviations from the mean."""
    mean, std = values.mean(), values.std()
    return (values < mean - k * std) | (values > mean + k * std)


def condition_mask(columns: _Columns, condition: Mapping[str, Any]) -> np.ndarray:
    """Evaluate an ``any``/``all`` tree or a leaf ``{field, op, value}`` for all rows."""
    if "any" in condition or "all" in condition:
        key = "any" if "any" in condition else "all"
        masks = [condition_mask(columns, child) for child in condition[key]]
        return np.logical_or.reduce(masks) if key == "any" else np.logical_and.reduce(masks)
    text, op, value = columns.text(condition["field"]), condition["op"], condition["value"]
    if op == "contains":
        result = text.str.contains(value, regex=False)
    elif op == "matches_regex":  # re.search semantics: unanchored
        result = _search(text, value)
    elif op == "equal_to":
        result = text == value
    elif op == "not_equal_to":
        result = text != value
    else:
        raise ValueError(f"unknown operator {op!r} in rules.json")
    return result.to_numpy(dtype=bool, na_value=False)


def apply_rules(
    frame: pd.DataFrame, columns: _Columns, rules: Sequence[Mapping[str, Any]]
) -> tuple[pd.Series, pd.Series]:
    """Rule points per row, and the sorted, space-joined techniques (None when none)."""
    points = np.zeros(len(frame), dtype="int64")
    rows: list[np.ndarray] = []
    tokens: list[np.ndarray] = []
    if TECHNIQUES in frame.columns:  # keep techniques a previous run recorded
        text = columns.text(TECHNIQUES).reset_index(drop=True)  # positions, not labels
        existing = text.str.split(" ").explode()
        rows.append(existing.index.to_numpy())
        tokens.append(existing.to_numpy(dtype=object))
    for rule in rules:
        mask = condition_mask(columns, rule["when"])
        points += mask * int(rule["score"])
        if rule.get("technique"):
            hit = np.flatnonzero(mask)
            rows.append(hit)
            tokens.append(np.full(len(hit), rule["technique"], dtype=object))
    return pd.Series(points, index=frame.index), _join_techniques(frame.index, rows, tokens)


def _join_techniques(
    index: pd.Index, rows: list[np.ndarray], tokens: list[np.ndarray]
) -> pd.Series:
    result = pd.Series(None, index=index, dtype=_TEXT)
    if not rows:
        return result
    pairs = pd.DataFrame({"row": np.concatenate(rows), "token": np.concatenate(tokens)})
    pairs = pairs[pairs["token"].notna() & (pairs["token"] != "")].drop_duplicates()
    joined = pairs.sort_values(["row", "token"]).groupby("row")["token"].agg(" ".join)
    result.iloc[joined.index.to_numpy()] = joined.to_numpy()
    return result


def analytics(frame: pd.DataFrame, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Score ``frame`` and return it with the score columns added (the input is not changed)."""
    config = rules if rules is not None else load_rules()
    frame = frame.copy()
    columns = _Columns(frame)
    patterns = config["command_line_patterns"]
    score = score_patterns(columns, patterns["patterns"], int(patterns["score"]))
    network = network_scores(frame, columns)
    if network is not None:
        frame[NETWORK_SCORE] = network
    if NETWORK_SCORE in frame.columns:
        outliers = config["network_outliers"]
        flagged = outlier_mask(frame[NETWORK_SCORE], float(outliers["k"]))
        score += flagged.astype("int64") * int(outliers["score"])
    rule_points, techniques = apply_rules(frame, columns, config["rules"])
    frame[SCORE] = score + rule_points
    frame[TECHNIQUES] = techniques
    return frame


def main() -> int:
    """Run under the Kestrel analytics contract (reads snappy or gzip, writes gzip)."""
    frame = pd.read_parquet(INPUT_PATH)
    analytics(frame).to_parquet(OUTPUT_PATH, compression="gzip", index=False)
    print(f"susp_scoring: scored {len(frame)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
