"""A hostile analytics image (issue 22, item 1), built on the project's local base image, links
its display and its output to files of the host. huntline runs on the host (as root here) and
must read neither: the step fails with an error naming the image and the path, and nothing of
the host file reaches object storage.

Before the fix, the stored ``01_apply/report.html`` was byte-identical to the host's
``/etc/shadow`` and a linked ``0.parquet.gz`` was merged into the variable. The same image also
writes a 10 GiB output, a display over a lowered bound, and 5,000 output files: the host copied
and read all of it before outputs were bounded (issue 22, the last gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from huntline.book import ApplyStep
from huntline.errors import AnalyticsError
from huntline.steps.apply import apply_step
from huntline.steps.context import RunContext
from huntline.storage import open_store
from huntline.tables import write_table

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
IMAGE = "huntline-test-analytics-hostile:test"
SECRET = "host-canary-93e1b7"
HINT = (
    "  hint: an analytics must write regular files under /data/output and /data/display; "
    "links and special files are refused because huntline would read them on the host"
)


@pytest.fixture(scope="module")
def hostile(build_test_image: Callable[..., str]) -> str:
    return str(build_test_image("analytics_hostile", REPO / "tests" / "files", IMAGE))


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A host file that reads as a valid variable, so following the link would succeed."""
    path = tmp_path / "host" / "canary.parquet"
    path.parent.mkdir()
    pd.DataFrame({"id": ["p1"], "type": ["process"], "leak": [SECRET]}).to_parquet(path)
    return path


def run_hostile(tmp_path: Path, params: dict[str, str]) -> tuple[AnalyticsError, Path]:
    """Run the hostile image as an apply step over file:// storage; the error and the root."""
    root = tmp_path / "store"
    context = RunContext(storage=root.as_uri(), hunt_id="h", run_date="d", flow_run_id="r")
    procs = pd.DataFrame({"id": ["p1", "p2"], "type": ["process"] * 2, "name": ["a", "b"]})
    table = write_table(open_store(context.storage), "h/d/r/00_get/procs.parquet", procs)
    step = ApplyStep.model_validate({"apply": IMAGE, "on": "procs", "with": params})
    with pytest.raises(AnalyticsError) as caught:
        apply_step(context, "01_apply", step, {"procs": table})
    return caught.value, root


def stored_bytes(root: Path) -> list[bytes]:
    return [path.read_bytes() for path in root.rglob("*") if path.is_file()]


def test_a_display_linked_to_etc_shadow_is_refused(hostile: str, tmp_path: Path) -> None:
    error, root = run_hostile(tmp_path, {"WHAT": "display"})
    assert str(error) == (
        f"analytics {IMAGE} wrote /data/display/report.html as a symbolic link; "
        f"only regular files are read\n{HINT}"
    )
    shadow = Path("/etc/shadow").read_bytes()
    assert not any(shadow in data for data in stored_bytes(root))
    assert not list(root.rglob("report.html"))


def test_an_output_linked_to_a_host_parquet_is_refused(
    hostile: str, tmp_path: Path, canary: Path
) -> None:
    error, root = run_hostile(tmp_path, {"WHAT": "both", "LINK_TO": str(canary)})
    assert str(error) == (
        f"analytics {IMAGE} wrote /data/output/0.parquet.gz as a symbolic link; "
        f"only regular files are read\n{HINT}"
    )
    assert error.context["image"] == IMAGE
    assert not any(SECRET.encode() in data for data in stored_bytes(root))
    assert not (root / "h/d/r/01_apply/procs.parquet").exists()
    # what the image printed is kept beside the step, as for any failed analytics
    log = (root / "h/d/r/01_apply/container.log").read_text()
    assert log == f"linked both to {canary}\n"


def test_an_output_fifo_fails_at_once(hostile: str, tmp_path: Path, docker_client: Any) -> None:
    started = time.monotonic()
    error, _ = run_hostile(tmp_path, {"WHAT": "fifo"})
    assert str(error) == (
        f"analytics {IMAGE} wrote /data/output/0.parquet.gz as a FIFO; "
        f"only regular files are read\n{HINT}"
    )
    assert time.monotonic() - started < 60
    left = docker_client.containers.list(all=True, filters={"ancestor": IMAGE})
    assert left == [], "the container is removed whatever its outputs"


def test_a_huge_output_is_refused_before_a_byte_is_read(hostile: str, tmp_path: Path) -> None:
    """A 10 GiB output (sparse: it costs the disk nothing) would have been copied to the host's
    disk (not sparse there) and then read into memory: it is measured first and refused unread
    (copying it takes several seconds of CPU; the whole step here takes about one)."""
    started = time.process_time()
    error, root = run_hostile(tmp_path, {"WHAT": "huge"})
    assert str(error) == (
        f"analytics {IMAGE} wrote more than 1,024 MiB under /data/output and /data/display "
        "(stopped copying at /data/output/0.parquet.gz)\n"
        "  hint: if the analytics really writes this much, raise HUNTLINE_ANALYTICS_OUTPUT_MB"
    )
    assert time.process_time() - started < 5
    assert not (root / "h/d/r/01_apply/procs.parquet").exists()
    assert (root / "h/d/r/01_apply/container.log").read_text() == "wrote huge\n"


def test_the_output_bound_is_a_setting(
    hostile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUNTLINE_ANALYTICS_OUTPUT_MB", "1")
    error, root = run_hostile(tmp_path, {"WHAT": "big"})
    assert str(error).splitlines()[0] == (
        f"analytics {IMAGE} wrote more than 1 MiB under /data/output and /data/display "
        "(stopped copying at /data/display/report.html)"
    )
    assert not list(root.rglob("report.html"))


def test_thousands_of_output_files_are_refused(hostile: str, tmp_path: Path) -> None:
    error, _ = run_hostile(tmp_path, {"WHAT": "many"})
    assert str(error) == (
        f"analytics {IMAGE} wrote more than 1,000 files in /data/output\n"
        "  hint: the contract asks for one output per input and one display "
        "(HUNTLINE_ANALYTICS_OUTPUT_FILES)"
    )


def test_endless_output_on_stdout_is_cut(hostile: str, tmp_path: Path) -> None:
    """40 MB printed (half without a newline) was all kept by Docker on the host's disk, read
    back into memory and stored as container.log; Docker now keeps the last 8 MB at most."""
    root = tmp_path / "store"
    context = RunContext(storage=root.as_uri(), hunt_id="h", run_date="d", flow_run_id="r")
    procs = pd.DataFrame({"id": ["p1"], "type": ["process"], "name": ["a"]})
    table = write_table(open_store(context.storage), "h/d/r/00_get/procs.parquet", procs)
    step = ApplyStep.model_validate({"apply": IMAGE, "on": "procs", "with": {"WHAT": "noisy"}})
    apply_step(context, "01_apply", step, {"procs": table})  # it writes no output: no change
    size = (root / "h/d/r/01_apply/container.log").stat().st_size
    assert 2**20 < size <= 8 * 2**20 + 2**20
