"""Validate-time checks of notify: unknown destination names and malformed URLs, at their line."""

from __future__ import annotations

from pathlib import Path

import pytest
from inline_books import procs_book

from huntline.errors import BookError
from huntline.steps.book_checks import parse_hunt

BOOK = procs_book(
    """id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: Checks
""",
    """\
  when: pid > 0
  title: "{name}"
  notify:
    - soc-hook
    - soc-hok
    - json://
    - nosuchservice://host/x
    - jsonl:///tmp/alerts.jsonl
    - prefect-secret://pager-url
""",
)


def test_unknown_names_and_malformed_urls_are_reported_at_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destinations = tmp_path / "destinations.yaml"
    destinations.write_text(
        "destinations:\n  soc-hook: json://127.0.0.1:8080/hook\n"
        "  soc-mail: {url: prefect-secret://mail-url}\n"
    )
    monkeypatch.setenv("HUNTLINE_DESTINATIONS", str(destinations))
    with pytest.raises(BookError) as caught:
        parse_hunt(BOOK, "hunts/x.yaml")
    assert caught.value.problems == [
        "hunts/x.yaml:14 alert.notify[1]: unknown destination 'soc-hok' (did you mean "
        "'soc-hook'?); known: soc-hook, soc-mail",
        "hunts/x.yaml:15 alert.notify[2]: apprise cannot use json:// URL 'json://(unparsable "
        "URL)': unknown service or a malformed URL (see the apprise wiki for the service's URL "
        "form)",
        "hunts/x.yaml:16 alert.notify[3]: apprise cannot use nosuchservice:// URL "
        "'nosuchservice://(unparsable URL)': unknown service or a malformed URL (see the "
        "apprise wiki for the service's URL form)",
    ]


def test_names_without_a_destinations_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTLINE_DESTINATIONS", str(tmp_path / "missing.yaml"))
    with pytest.raises(BookError) as caught:
        parse_hunt(BOOK.split("    - soc-hok")[0], "x.yaml")
    assert caught.value.problems == [
        f"x.yaml:13 alert.notify[0]: unknown destination 'soc-hook'; known: none: "
        f"{tmp_path / 'missing.yaml'} does not exist or lists none"
    ]


def test_a_broken_destinations_file_is_reported_at_its_own_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destinations = tmp_path / "destinations.yaml"
    destinations.write_text(
        "destinations:\n"
        "  soc-hook: json://127.0.0.1:8080/hook\n"
        "  soc-mail: 42\n"
        "  soc-hook: json://127.0.0.1:9090/other\n"
    )
    monkeypatch.setenv("HUNTLINE_DESTINATIONS", str(destinations))
    with pytest.raises(BookError) as caught:
        parse_hunt(BOOK.split("    - soc-hok")[0], "hunts/x.yaml")
    assert caught.value.problems == [
        f"{destinations}:3 destinations.soc-mail: expected a URL or {{url: URL}}",
        f"{destinations}:4 destinations.soc-hook: duplicate key 'soc-hook'",
    ]
