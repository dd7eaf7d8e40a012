"""Every query carries the run's window, on every observation expression."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import Window, with_window
from huntline.fetch.sources.pattern import observation_spans, stix_timestamp

WINDOW = Window(
    datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, 12, 30, 0, 123456, tzinfo=UTC)
)
Q = "START t'2021-01-01T00:00:00.000Z' STOP t'2021-01-02T12:30:00.124Z'"


def test_single_observation_gets_the_window() -> None:
    assert with_window("[process:name = 'cmd.exe']", WINDOW) == f"[process:name = 'cmd.exe'] {Q}"


def test_each_observation_of_a_compound_pattern_gets_the_window() -> None:
    pattern = "[process:name = 'a'] OR [ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'u']"
    assert with_window(pattern, WINDOW) == (
        f"[process:name = 'a'] {Q} OR [ipv4-addr:value = '1.2.3.4'] {Q} "
        f"FOLLOWEDBY [url:value = 'u'] {Q}"
    )


def test_window_goes_before_within_and_repeats() -> None:
    pattern = "([a:x = 1] AND [b:y = 2]) WITHIN 5 SECONDS"
    assert with_window(pattern, WINDOW) == f"([a:x = 1] {Q} AND [b:y = 2] {Q}) WITHIN 5 SECONDS"
    assert with_window("[a:x = 1] REPEATS 2 TIMES", WINDOW) == f"[a:x = 1] {Q} REPEATS 2 TIMES"


def test_an_authors_own_start_stop_is_kept() -> None:
    own = "START t'2019-01-01T00:00:00Z' STOP t'2019-02-01T00:00:00Z'"
    pattern = f"[a:x = 1] {own} OR [b:y = 2] WITHIN 5 SECONDS {own} OR [c:z = 3]"
    assert with_window(pattern, WINDOW) == (
        f"[a:x = 1] {own} OR [b:y = 2] WITHIN 5 SECONDS {own} OR [c:z = 3] {Q}"
    )


def test_brackets_and_quotes_inside_an_expression_do_not_split_it() -> None:
    pattern = r"[windows-registry-key:values[*].name = 'a]b\'[c'] AND [x:y = 'START']"
    first = r"[windows-registry-key:values[*].name = 'a]b\'[c']"
    assert observation_spans(pattern) == [(0, len(first)), (len(first) + 5, len(pattern))]
    assert with_window(pattern, WINDOW) == f"{first} {Q} AND [x:y = 'START'] {Q}"


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("[a:x = 1", "unclosed '[' at offset 0"),
        ("[a:x = 1]]", "unmatched ']' at offset 9"),
        ("[a:x = 'oops]", "unterminated string starting at offset 7"),
        ("a:x = 1", "no observation expression ([...])"),
    ],
)
def test_unbalanced_patterns_are_rejected(pattern: str, problem: str) -> None:
    with pytest.raises(DataSourceError) as caught:
        with_window(pattern, WINDOW)
    assert caught.value.message == f"invalid STIX pattern: {problem}: {pattern}"


def test_timestamps_have_milliseconds_and_never_shrink_the_window() -> None:
    moment = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    assert stix_timestamp(moment) == "2021-03-04T05:06:07.891Z"
    assert stix_timestamp(moment, round_up=True) == "2021-03-04T05:06:07.892Z"
    exact = datetime(2021, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    assert stix_timestamp(exact, round_up=True) == "2021-03-04T05:06:07.891Z"
