"""Regexes from books run in linear time (issue 22, item 5): ``(a+)+$`` on a name of 29 and more
characters cost 29 s of CPU per observation through stix2-matcher's ``MATCHES`` (Python's
``re``), doubling with each character. Now every path uses RE2 and takes milliseconds, with the
same answers as before on ordinary regexes.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pandas as pd
import pytest
from stix2matcher import matcher

from huntline.errors import DataSourceError
from huntline.expressions import evaluate, parse_condition
from huntline.fetch.sources.bundle import match_all
from huntline.fetch.stix import matcher_patches
from huntline.linear_regex import RegexError, compile_linear

EVIL = "(a+)+$"
NAMES = ["a" * 29 + "!", "a" * 5000 + "!", "aaa", "b", "cmd.exe", "C:\\Windows\\cmd.exe"]


def observation(index: int, name: str) -> dict[str, Any]:
    return {
        "type": "observed-data",
        "id": f"observed-data--00000000-0000-4000-8000-{index:012d}",
        "created": "2021-01-01T00:00:00Z",
        "modified": "2021-01-01T00:00:00Z",
        "first_observed": "2021-01-01T00:00:00Z",
        "last_observed": "2021-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": {"0": {"type": "process", "name": name}},
    }


OBSERVED = [observation(index, name) for index, name in enumerate(NAMES)]


def matched(pattern: str) -> list[str]:
    return [obs["objects"]["0"]["name"] for obs in match_all(pattern, OBSERVED, source="test")]


def test_bundle_matches_evil_regex_fast() -> None:
    started = time.monotonic()
    assert matched(f"[process:name MATCHES '{EVIL}']") == ["aaa"]
    assert time.monotonic() - started < 1


def test_condition_matches_evil_regex_fast() -> None:
    table = pd.DataFrame({"name": [*NAMES, None]})
    started = time.monotonic()
    mask = evaluate(parse_condition(f"name matches '{EVIL}'"), table)
    assert mask.tolist() == [False, False, True, False, False, False, False]
    assert time.monotonic() - started < 1


def test_stix_shifter_bundle_matching_is_linear_too() -> None:
    """stix-shifter's stix_bundle connector builds stix2-matcher's own MatchListener."""
    matcher_patches.install_matcher()
    assert matcher.MatchListener.exitPropTestRegex is matcher_patches._exit_regex
    started = time.monotonic()
    found = matcher.match(f"[process:name MATCHES '{EVIL}']", OBSERVED[:1], stix_version="2.0")
    assert found == [] and time.monotonic() - started < 1


@pytest.mark.parametrize(
    "regex",
    ["^cmd", "exe$", "(?i)CMD", "a{2,}", "\\\\\\\\Windows", "[ab]", "^$", "c.d", "(?s)a.b"],
)
def test_same_answers_as_python_re_on_ordinary_regexes(regex: str) -> None:
    stix_text = regex.replace("'", "\\'")
    expected = [name for name in NAMES if re.search(regex.replace("\\\\", "\\"), name)]
    assert matched(f"[process:name MATCHES '{stix_text}']") == expected
    not_expected = [name for name in NAMES if name not in expected]
    assert matched(f"[process:name NOT MATCHES '{stix_text}']") == not_expected
    condition = parse_condition(f"name matches {regex.replace(chr(92) * 2, chr(92))!r}")
    mask = evaluate(condition, pd.DataFrame({"name": NAMES}))
    assert [name for name, hit in zip(NAMES, mask, strict=True) if hit] == expected


def test_a_regex_re2_refuses_is_a_clear_error() -> None:
    with pytest.raises(RegexError) as caught:
        compile_linear("(a)\\1")
    assert str(caught.value) == "regex '(a)\\\\1' is not valid RE2: invalid escape sequence: \\1"
    with pytest.raises(DataSourceError) as failed:
        matched("[process:name MATCHES '(?<=a)b']")
    assert str(failed.value) == (
        "data source 'test': cannot match STIX pattern \"[process:name MATCHES '(?<=a)b']\": "
        "\"process:name MATCHES '(?<=a)b'\": '(?<=a)b' is not usable here: "
        "regex '(?<=a)b' is not valid RE2: invalid perl operator: (?<="
    )
