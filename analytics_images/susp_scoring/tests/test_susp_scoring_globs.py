"""Glob -> RE2 translation agrees with fnmatch (full match) and with the reference's search."""

from __future__ import annotations

import fnmatch
import json
import re
from types import ModuleType

import pandas as pd
import pytest
from conftest import IMAGE_DIR

PATTERNS = json.loads((IMAGE_DIR / "rules.json").read_text())["command_line_patterns"]["patterns"]
EXTRA = ["a?c", "[abc]x", "[!abc]x", "[]]x", "[!]]x", "x[", "a\\b*", "***z", "(a)+{1}|$^", ""]
SUBJECTS = [
    "",
    "abc",
    "axc",
    "a\nc",
    "bx",
    "dx",
    "]x",
    "x[",
    "a\\bq",
    "zz",
    "(a)+{1}|$^",
    "python -m SimpleHTTPServer",
    "/usr/bin/python -m SimpleHTTPServer",
    "python -m SimpleHTTPServer\n",
    "python3 -m http.server",
    "nc -l -p 4444",
    "wget x - http://a | perl",
    "echo\n tweet",
    "cp /bin/sh /tmp/s",
    "base64 -d /tmp/x.b64 out",
    "python -m http.serverimport pty; pty.spawn('x')",
]


def _re2(strings: list[str], regex: str) -> list[bool]:
    return pd.Series(strings, dtype=pd.StringDtype("pyarrow")).str.contains(regex).tolist()


@pytest.mark.parametrize("pattern", PATTERNS + EXTRA)
def test_full_match_equals_fnmatchcase(scoring: ModuleType, pattern: str) -> None:
    expected = [fnmatch.fnmatchcase(s, pattern) for s in SUBJECTS]
    assert _re2(SUBJECTS, scoring.glob_to_re2(pattern)) == expected


@pytest.mark.parametrize("pattern", PATTERNS + EXTRA)
def test_search_equals_reference_semantics(scoring: ModuleType, pattern: str) -> None:
    """The reference ran ``str.contains(fnmatch.translate(p))``: a search, end-anchored."""
    expected = [re.search(fnmatch.translate(pattern), s) is not None for s in SUBJECTS]
    assert _re2(SUBJECTS, scoring.glob_to_re2(pattern, match_start=False)) == expected


def test_examples(scoring: ModuleType) -> None:
    assert scoring.glob_to_re2("nc -l -p *") == "(?s)^(?:nc -l -p .*)\\z"
    assert scoring.glob_to_re2("*a**b?[!c]", match_start=False) == "(?s)(?:.*a.*b.[^c])\\z"
    assert scoring.glob_to_re2("1.2(3)") == "(?s)^(?:1\\.2\\(3\\))\\z"


def test_why_not_fnmatch_translate() -> None:
    """RE2 rejects the atomic groups fnmatch.translate emits on Python 3.11+."""
    translated = fnmatch.translate("wget * - http* | perl")
    if "(?>" not in translated:
        pytest.skip("this Python's fnmatch.translate emits no atomic groups")
    with pytest.raises(Exception, match=r"(?i)invalid|regex|perl"):
        _re2(["x"], translated)
