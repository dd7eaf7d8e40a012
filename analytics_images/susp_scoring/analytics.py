#!/usr/bin/env python3
"""Suspicious process scoring: a vectorised Kestrel analytics.

Scores every process in ``/data/input/0.parquet.gz`` and writes ``x_suspicious_score`` (plus
``x_suspicious_score_norm``, ``x_suspicious_reasons``, ``techniques`` and, when connection
data exist, ``network_susp_score``) to ``/data/output/0.parquet.gz``. The score is the sum of
three steps, all data-driven from ``rules.json`` and any packs named by ``extra_rules``:

1. one point per Sigma command-line glob that matches (search semantics, see below);
2. one point when the process's connection count per ``x_guid`` is a 3-sigma outlier;
3. the points of every rule whose condition tree holds.

Why vectorised: the published scorer runs a rule engine once per row (about 100-2,000 rows/s);
here every condition is one column-wide Arrow compute call, and the 33 globs are one RE2 pass
(their alternation) over all command lines, then one pass each over the few lines that hit.
Reasons and techniques are built once per distinct combination of hits, not once per row.

Why our own glob translation: pandas 3 runs string regexes with RE2, which rejects the atomic
groups ``(?>...)`` that Python 3.11's ``fnmatch.translate`` emits.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

INPUT_PATH = Path("/data/input/0.parquet.gz")
OUTPUT_PATH = Path("/data/output/0.parquet.gz")
RULES_PATH = Path(__file__).resolve().with_name("rules.json")
PACKS_DIR = Path(__file__).resolve().with_name("rules.d")

PARAMETERS = {
    "extra_rules": "comma-separated rule packs added to rules.json: a pack name from rules.d/ "
    "(e.g. activity), a JSON file path, or inline JSON",
}
SCORE = "x_suspicious_score"
NORM = "x_suspicious_score_norm"
REASONS = "x_suspicious_reasons"
NETWORK_SCORE = "network_susp_score"
TECHNIQUES = "techniques"
_TEXT = pd.StringDtype("pyarrow")
_TECHNIQUE_ID = re.compile(r"(T\d{4})(?:[/.](\d{3}))?")
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


def load_rules(path: Path = RULES_PATH, extra: str | None = None) -> dict[str, Any]:
    """Read the rules file, plus the packs ``extra`` names (see :func:`load_pack`)."""
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    config["pattern_groups"] = [config["command_line_patterns"]]
    for name in pack_names(extra):
        pack = load_pack(name)
        config["rules"] = [*config["rules"], *pack.get("rules", [])]
        if pack.get("command_line_patterns"):
            config["pattern_groups"].append(pack["command_line_patterns"])
    return config


def pack_names(extra: str | None) -> list[str]:
    """The packs ``extra_rules`` names: one inline JSON document, or comma-separated names."""
    text = (extra or "").strip()
    if text.startswith(("{", "[")):
        return [text]
    return [name.strip() for name in text.split(",") if name.strip()]


def load_pack(name: str) -> dict[str, Any]:
    """A rule pack: inline JSON, a bundled ``rules.d/NAME.json``, or a JSON file path.

    A pack is ``{"rules": [...], "command_line_patterns": {"patterns": [...], "score": N}}``
    (both optional), or a bare list of rules.
    """
    text = name.strip()
    if text.startswith(("{", "[")):
        source = "inline extra_rules"
    else:
        path = PACKS_DIR / f"{text}.json" if (PACKS_DIR / f"{text}.json").is_file() else Path(text)
        if not path.is_file():
            known = sorted(p.stem for p in PACKS_DIR.glob("*.json"))
            raise FileNotFoundError(
                f"susp_scoring: extra_rules {text!r} is neither a bundled pack "
                f"({', '.join(known) or 'none'}) nor a file"
            )
        source, text = str(path), path.read_text(encoding="utf-8")
    try:
        pack = json.loads(text)
    except ValueError as error:
        raise ValueError(f"susp_scoring: {source} is not valid JSON: {error}") from error
    return {"rules": pack} if isinstance(pack, list) else pack


class _Columns:
    """Each referenced column once as Arrow strings, nulls as "" (the rule engine's view)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[str, pa.Array] = {}

    def text(self, name: str) -> pa.Array:
        if name not in self._cache:
            if name in self.frame.columns:
                column = self.frame[name]
                if not isinstance(column.dtype, pd.StringDtype):
                    column = column.astype(_TEXT)
                array = pa.array(column, type=pa.large_string(), from_pandas=True)
                self._cache[name] = pc.fill_null(array, "")
            else:  # a missing attribute reads as "" in the reference, never as an error
                self._cache[name] = pa.array([""] * len(self.frame), type=pa.large_string())
        return self._cache[name]


def _bools(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def pattern_hits(columns: _Columns, patterns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose command line matches any glob, and their (rows x patterns) hit matrix.

    One RE2 pass with the alternation of all globs finds the rows; only those are searched
    again pattern by pattern (missing command lines match none).
    """
    command = columns.text("command_line")
    regexes = [glob_to_re2(p, match_start=False).removeprefix("(?s)") for p in patterns]
    if not regexes:
        return np.empty(0, dtype=np.int64), np.zeros((0, 0), dtype=bool)
    union = "(?s)" + "|".join(f"(?:{r})" for r in regexes)
    rows = np.flatnonzero(_bools(pc.match_substring_regex(command, union)))
    subset = command.take(pa.array(rows))
    hits = np.zeros((len(rows), len(regexes)), dtype=bool)
    for j, regex in enumerate(regexes):
        hits[:, j] = _bools(pc.match_substring_regex(subset, "(?s)" + regex))
    return rows, hits


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
    has_command = _bools(pc.not_equal(columns.text("command_line"), ""))
    base = frame[NETWORK_SCORE] if NETWORK_SCORE in frame.columns else 0
    return base + per_guid.where(has_command, 0)


def outlier_mask(values: pd.Series, k: float) -> pd.Series:
    """Values more than ``k`` sample standard deviations from the mean."""
    mean, std = values.mean(), values.std()
    return (values < mean - k * std) | (values > mean + k * std)


def condition_mask(columns: _Columns, condition: Mapping[str, Any]) -> np.ndarray:
    """Evaluate an ``any``/``all`` tree or a leaf ``{field, op, value}`` for all rows."""
    if "any" in condition:  # equal_to leaves on one field become one set lookup
        sets: dict[str, list[str]] = {}
        others = []
        for child in condition["any"]:
            if child.get("op") == "equal_to" and "field" in child:
                sets.setdefault(child["field"], []).append(child["value"])
            else:
                others.append(child)
        masks = [condition_mask(columns, child) for child in others]
        masks += [_bools(pc.is_in(columns.text(field), value_set=pa.array(values)))
                  for field, values in sets.items()]  # fmt: skip
        return np.logical_or.reduce(masks)
    if "all" in condition:
        return np.logical_and.reduce([condition_mask(columns, c) for c in condition["all"]])
    text, op, value = columns.text(condition["field"]), condition["op"], condition["value"]
    if op == "contains":
        result = pc.match_substring(text, value)
    elif op == "matches_regex":  # re.search semantics: unanchored
        result = pc.match_substring_regex(text, value)
    elif op == "equal_to":
        result = pc.equal(text, value)
    elif op == "not_equal_to":
        result = pc.not_equal(text, value)
    else:
        raise ValueError(f"unknown operator {op!r} in a susp_scoring rule")
    return _bools(result)


def technique_id(url: str | None) -> str | None:
    """``T1059.001`` from ``https://attack.mitre.org/techniques/T1059/001/``."""
    found = _TECHNIQUE_ID.search(url or "")
    if not found:
        return None
    return found.group(1) + (f".{found.group(2)}" if found.group(2) else "")


def explain(
    frame: pd.DataFrame, columns: _Columns, reasons: list[tuple[str, str | None, np.ndarray]]
) -> tuple[pd.Series, pd.Series]:
    """The reasons text and the sorted, space-joined techniques of every row.

    ``reasons`` holds (text, technique URL, row indexes) per rule, glob or outlier that fired.
    The strings are built once per distinct combination of hits (and previous techniques).
    """
    n = len(frame)
    touched = np.zeros(n, dtype=bool)
    for _, _, rows in reasons:
        touched[rows] = True
    previous = columns.text(TECHNIQUES) if TECHNIQUES in frame.columns else None
    if previous is not None:
        touched |= _bools(pc.not_equal(previous, ""))
    reason_text = pd.Series(pd.NA, index=frame.index, dtype=_TEXT)
    techniques = pd.Series(pd.NA, index=frame.index, dtype=_TEXT)
    where = np.flatnonzero(touched)
    if not len(where):
        return reason_text, techniques
    position = np.full(n, -1, dtype=np.int64)
    position[where] = np.arange(len(where))
    matrix = np.zeros((len(where), len(reasons)), dtype=bool)
    for j, (_, _, rows) in enumerate(reasons):
        matrix[position[rows], j] = True
    previous_texts = (
        np.asarray(previous.take(pa.array(where)).to_pylist(), dtype=object)
        if previous is not None
        else np.full(len(where), "", dtype=object)
    )
    previous_codes, _ = pd.factorize(previous_texts)
    keys = np.hstack(
        [np.packbits(matrix, axis=1), previous_codes.astype("<i8").view(np.uint8).reshape(-1, 8)]
    )
    keys = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
    _, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    texts, joined = [], []
    for row in first:
        fired = [reasons[j] for j in np.flatnonzero(matrix[row])]
        tokens = {url for _, url, _ in fired if url} | set(previous_texts[row].split())
        texts.append("; ".join(text for text, _, _ in fired) or None)
        joined.append(" ".join(sorted(tokens)) or None)
    reason_text.iloc[where] = np.asarray(texts, dtype=object)[codes.ravel()]
    techniques.iloc[where] = np.asarray(joined, dtype=object)[codes.ravel()]
    return reason_text, techniques


def analytics(frame: pd.DataFrame, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Score ``frame`` and return it with the score columns added (the input is not changed).

    Without ``rules``, reads rules.json plus the packs the ``extra_rules`` parameter names.
    """
    env = os.environ  # Kestrel passes WITH parameters under their own (lower-case) names
    config = rules if rules is not None else load_rules(extra=env.get("extra_rules"))
    frame = frame.copy()
    columns = _Columns(frame)
    score = np.zeros(len(frame), dtype=np.int64)
    reasons: list[tuple[str, str | None, np.ndarray]] = []
    for group in config.get("pattern_groups", [config["command_line_patterns"]]):
        rows, hits = pattern_hits(columns, group["patterns"])
        np.add.at(score, rows, hits.sum(axis=1) * int(group["score"]))
        for j, pattern in enumerate(group["patterns"]):
            if hits[:, j].any():
                reasons.append((f"command line matches {pattern!r}", group.get("technique"),
                                rows[hits[:, j]]))  # fmt: skip
    network = network_scores(frame, columns)
    if network is not None:
        frame[NETWORK_SCORE] = network
    if NETWORK_SCORE in frame.columns:
        outliers = config["network_outliers"]
        flagged = outlier_mask(frame[NETWORK_SCORE], float(outliers["k"])).to_numpy(bool)
        score += flagged * int(outliers["score"])
        text = f"network connections more than {outliers['k']} standard deviations from the mean"
        reasons.append((text, None, np.flatnonzero(flagged)))
    for rule in config["rules"]:
        mask = condition_mask(columns, rule["when"])
        score += mask * int(rule["score"])
        if mask.any():
            technique = technique_id(rule.get("technique"))
            label = rule["description"] + (f" ({technique})" if technique else "")
            reasons.append((label, rule.get("technique"), np.flatnonzero(mask)))
    half = float(config.get("normalisation", {}).get("half_at", 3))
    frame[SCORE] = pd.Series(score, index=frame.index)
    frame[NORM] = pd.Series(np.round(score / (score + half), 4), index=frame.index)
    frame[REASONS], frame[TECHNIQUES] = explain(frame, columns, reasons)
    return frame


def main() -> int:
    """Run under the Kestrel analytics contract (reads snappy or gzip, writes gzip)."""
    frame = pd.read_parquet(INPUT_PATH)
    analytics(frame).to_parquet(OUTPUT_PATH, compression="gzip", compression_level=1, index=False)
    print(f"susp_scoring: scored {len(frame)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
