"""``huntline validate`` checks the intel feeds a book names, and validates intel.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.cli import main


def test_unknown_feed_and_feeds_file(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "intel.yaml").write_text("feeds:\n  sample:\n    kind: list\n    path: x.txt\n")
    book = tmp_path / "retro.yaml"
    text = (repo_root / "hunts/intel_retro_processes.yaml").read_text()
    book.write_text(text.replace("feeds: [sample]", "feeds: [nope]"))
    assert main(["validate", str(book), str(tmp_path / "intel.yaml")]) == 1
    captured = capsys.readouterr()
    assert f"{book}: intel.feeds names unknown feed 'nope'\n" in captured.err
    assert "hint: the feeds of intel.yaml beside the books are: sample" in captured.err
    assert f"✓ {tmp_path / 'intel.yaml'}" in captured.out


def test_a_broken_feeds_file_is_named_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = tmp_path / "intel.yaml"
    feeds.write_text("feeds:\n  - name: x\n    kind: nope\n")
    assert main(["validate", str(feeds)]) == 1
    assert capsys.readouterr().err == (
        f"✗ {feeds}: invalid intel feeds file\n"
        f"  {feeds}:2 feeds: Input should be a valid dictionary\n"
    )
