"""The README's alert example book and destinations file, validated as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.book import parse_book

README = (Path(__file__).parents[3] / "README.md").read_text()


def yaml_blocks() -> list[str]:
    body = README.split("### Alerts: group, dedup, suppress, deliver\n", 1)[1].split("\n### ")[0]
    return [part.split("```", 1)[0] for part in body.split("```yaml\n")[1:]]


def test_the_example_book_and_destinations_are_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, destinations = yaml_blocks()
    (tmp_path / "destinations.yaml").write_text(destinations)
    monkeypatch.setenv("HUNTLINE_DESTINATIONS", str(tmp_path / "destinations.yaml"))
    alert = parse_book(book, "README.md").alert
    assert alert is not None
    assert alert.group_by == ["x_host"] and alert.threshold is not None
    assert alert.suppress_seconds == 24 * 3600 and alert.notify[0] == "soc-webhook"
