"""Temporary files live under one scratch root, one locked directory per process; a directory
whose process died (``kill -9``) is removed by the next clean-up, a live one never
(issue 22, item 8). The container and fetch ends of the attack are in
``tests/integration/test_kill9_debris.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from huntline import scratch
from huntline.errors import HuntlineError

CHILD = """
import sys, time
from huntline import scratch
spool = scratch.directory("entities-")
(spool / "part-0.parquet").write_bytes(b"x" * 1000)
print(spool, flush=True)
time.sleep(600)
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(scratch.ENV_ROOT, str(tmp_path / "scratch"))
    monkeypatch.setattr(scratch, "_mine", None)  # this process's directory, made in this root
    return tmp_path / "scratch"


def child(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process that made a spool in its scratch directory and waits."""
    environment = {**os.environ, scratch.ENV_ROOT: str(root)}
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=environment
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_killed_process_directory_is_removed_a_live_one_kept(root: Path) -> None:
    live, live_spool = child(root)
    dead, dead_spool = child(root)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait()
        assert dead_spool.is_dir(), "kill -9 runs no clean-up: the spool stays"
        assert scratch.clean_stale() == [dead_spool.parent]
        assert not dead_spool.parent.exists()
        assert live_spool.is_dir() and scratch.is_alive(live_spool.parent)
        assert scratch.clean_stale() == []
    finally:
        live.kill()
        live.wait()
    assert scratch.clean_stale() == [live_spool.parent]


def test_this_process_keeps_its_own_directory(root: Path) -> None:
    mine = scratch.directory("apply-").parent
    assert mine.parent == root and scratch.is_alive(mine)
    assert mine not in scratch.clean_stale()
    assert oct(root.stat().st_mode & 0o777) == "0o700"


def test_a_root_that_is_a_link_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A predictable name in a shared /tmp must not be a place another user prepared."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "scratch").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv(scratch.ENV_ROOT, str(tmp_path / "scratch"))
    with pytest.raises(HuntlineError) as caught:
        scratch.root()
    assert str(caught.value) == (
        f"scratch directory {tmp_path / 'scratch'} is not a directory of this user\n"
        f"  hint: remove it, or set {scratch.ENV_ROOT} to a private directory"
    )


def test_a_process_that_ends_normally_removes_its_directory(root: Path) -> None:
    code = "from huntline import scratch; print(scratch.directory('x-'))"
    environment = {**os.environ, scratch.ENV_ROOT: str(root)}
    made = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    assert not Path(made.stdout.strip()).parent.exists()
