"""Splitting a container's raw output stream into lines for the task log."""

from __future__ import annotations

from huntline.analytics.logstream import split_lines
from huntline.analytics.slots import task_log_sink


def test_lines_split_across_chunks() -> None:
    lines: list[str] = []
    split_lines([b"sco", b"ring step 1\nstep", b" 2\r\n\n", "é".encode()[:1], "é".encode()[1:]],
                lines.append)  # fmt: skip
    assert lines == ["scoring step 1", "step 2", "", "é"]


def test_sink_outside_a_run_uses_the_module_logger(caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("INFO", logger="huntline.analytics.slots"):
        task_log_sink("img")("hello")
    assert "img | hello" in caplog.text


def test_a_line_without_end_is_handed_on_in_pieces() -> None:
    """Issue 22: an analytics printing without a newline grew one line in memory without end."""
    from huntline.analytics.logstream import MAX_LINE

    lines: list[str] = []
    split_lines([b"x" * 50_000] * 4 + [b"y\n"], lines.append)
    assert [len(line) for line in lines] == [MAX_LINE] * 3 + [200_001 - 3 * MAX_LINE]
