"""Outputs and displays are taken out of an analytics' work directory without following links
(issue 22, item 1): a link, a FIFO or a directory where a file belongs fails the step with an
error naming the image and the path, and nothing of the link's target is read.

The Docker end of the same attack (a hostile image on the base image) is in
``tests/integration/test_analytics_hostile.py``; the python:// runner's is here, since it
needs no engine.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from huntline.analytics.harvest import harvest, read_regular
from huntline.analytics.python_runner import run_python
from huntline.errors import AnalyticsError

IMAGE = "hostile:test"
HINT = (
    "  hint: an analytics must write regular files under /data/output and /data/display; "
    "links and special files are refused because huntline would read them on the host"
)
SECRET = b"host-secret-4f1c"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("input", "output", "display"):
        (tmp_path / "data" / name).mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    """A file of the host that an analytics must never get huntline to read."""
    path = tmp_path / "host" / "secret"
    path.parent.mkdir()
    pd.DataFrame({"id": ["x"], "type": ["process"], "leak": [SECRET.decode()]}).to_parquet(path)
    return path


def refused(name: str, what: str) -> str:
    return f"analytics {IMAGE} wrote /data/{name} as {what}; only regular files are read\n{HINT}"


def test_regular_files_are_copied_out(workdir: Path) -> None:
    (workdir / "output" / "0.parquet.gz").write_bytes(b"parquet bytes")
    (workdir / "output" / "7.parquet.gz").write_bytes(b"no such input")
    (workdir / "display" / "ret.html").write_text("<p>hi</p>")
    outputs, display, notes = harvest(workdir, 1, IMAGE)
    assert outputs[0].read_bytes() == b"parquet bytes"
    assert workdir not in outputs[0].parents, "a copy outside the analytics' reach"
    assert display is not None and display.name == "ret.html"
    assert display.read_text() == "<p>hi</p>"
    assert notes == [f"{IMAGE} wrote output/7.parquet.gz, which matches no input; ignored"]


def test_nothing_written_is_nothing_taken(workdir: Path) -> None:
    assert harvest(workdir, 2, IMAGE) == ({}, None, [])


@pytest.mark.parametrize(
    ("name", "link"),
    [("display/report.html", "/etc/shadow"), ("output/0.parquet.gz", None)],
)
def test_a_linked_file_is_refused(workdir: Path, host_file: Path, name: str, link: str) -> None:
    (workdir / name).symlink_to(link or host_file)
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value) == refused(name, "a symbolic link")


def test_a_linked_folder_is_refused(workdir: Path, host_file: Path) -> None:
    """An analytics running as root in its container can replace output/ itself by a link."""
    (workdir / "output").rmdir()
    (workdir / "output").symlink_to(host_file.parent)
    host_file.rename(host_file.parent / "0.parquet.gz")
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value) == refused("output", "a symbolic link")


def test_a_fifo_is_refused_at_once(workdir: Path) -> None:
    os.mkfifo(workdir / "output" / "0.parquet.gz")
    started = time.monotonic()
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value) == refused("output/0.parquet.gz", "a FIFO")
    assert time.monotonic() - started < 1, "opening the FIFO must not wait for a writer"


def test_a_socket_and_a_directory_are_refused(workdir: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(workdir / "output" / "0.parquet.gz"))
        with pytest.raises(AnalyticsError) as caught:
            harvest(workdir, 1, IMAGE)
    assert str(caught.value) == refused("output/0.parquet.gz", "a socket")
    (workdir / "output" / "0.parquet.gz").unlink()
    (workdir / "display" / "ret.html").mkdir()
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value) == refused("display/ret.html", "a directory")


def test_read_regular_refuses_a_link(workdir: Path, host_file: Path) -> None:
    (workdir / "call.json").symlink_to(host_file)
    with pytest.raises(AnalyticsError) as caught:
        read_regular(workdir, "call.json", image=IMAGE)
    assert str(caught.value) == refused("call.json", "a symbolic link")
    assert read_regular(workdir, "failure.json", image=IMAGE) is None


def test_python_runner_refuses_links_its_function_made(tmp_path: Path, host_file: Path) -> None:
    """The python:// runner's outputs go through the same taking-out."""
    module = tmp_path / "linker.py"
    module.write_text(
        f"import os\ndef analytics(frame):\n    os.symlink({str(host_file)!r}, os.environ['OUT'])\n"
    )
    procs = tmp_path / "procs.parquet"
    pd.DataFrame({"id": ["a"], "type": ["process"]}).to_parquet(procs)
    workdir = tmp_path / "run"
    out = str(workdir / "output" / "0.parquet.gz")
    with pytest.raises(AnalyticsError) as caught:
        run_python(f"python://{module}", [procs], {"OUT": out}, workdir, on_log=lambda _: None)
    expected = f"analytics python://{module} wrote /data/output/0.parquet.gz as a symbolic link"
    assert str(caught.value) == expected + f"; only regular files are read\n{HINT}"


def test_outputs_and_display_are_bounded_together(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: a huge output or display was copied to the host and read whole. The bound
    counts outputs and display together, and a file larger than what is left is not read."""
    monkeypatch.setenv("HUNTLINE_ANALYTICS_OUTPUT_MB", "1")
    (workdir / "output" / "0.parquet.gz").write_bytes(b"x" * 700_000)
    (workdir / "display" / "ret.html").write_bytes(b"y" * 400_000)
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value) == (
        f"analytics {IMAGE} wrote more than 1 MiB under /data/output and /data/display "
        "(stopped copying at /data/display/ret.html)\n"
        "  hint: if the analytics really writes this much, raise HUNTLINE_ANALYTICS_OUTPUT_MB"
    )
    (workdir / "display" / "ret.html").write_bytes(b"y" * 300_000)
    outputs, display, _ = harvest(workdir, 1, IMAGE)
    assert outputs[0].stat().st_size == 700_000 and display is not None


def test_a_sparse_terabyte_is_refused_unread(workdir: Path) -> None:
    with (workdir / "output" / "0.parquet.gz").open("wb") as output:
        output.truncate(2**40)
    started = time.process_time()
    with pytest.raises(AnalyticsError, match=r"more than 1,024 MiB .* /data/output/0.parquet.gz"):
        harvest(workdir, 1, IMAGE)
    assert time.process_time() - started < 1


def test_too_many_names_are_refused(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTLINE_ANALYTICS_OUTPUT_FILES", "3")
    for n in range(4):
        (workdir / "display" / f"{n}.txt").touch()
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value).splitlines()[0] == (
        f"analytics {IMAGE} wrote more than 3 files in /data/display"
    )
    monkeypatch.setenv("HUNTLINE_ANALYTICS_OUTPUT_FILES", "three")
    with pytest.raises(AnalyticsError) as caught:
        harvest(workdir, 1, IMAGE)
    assert str(caught.value) == (
        "HUNTLINE_ANALYTICS_OUTPUT_FILES='three' is not a positive whole number\n"
        "  hint: unset it for the default (1,000)"
    )


def test_read_regular_is_bounded(workdir: Path) -> None:
    (workdir / "failure.json").write_bytes(b"z" * 11)
    with pytest.raises(AnalyticsError) as caught:
        read_regular(workdir, "failure.json", image=IMAGE, limit=10)
    assert str(caught.value) == f"analytics {IMAGE} wrote more than 10 bytes to /data/failure.json"
