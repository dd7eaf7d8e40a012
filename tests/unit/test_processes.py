"""Stopping a background process group: politely first, by force after the grace period."""

from __future__ import annotations

import subprocess
import sys
import time

from huntline.processes import stop_group

IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def _start(code: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    return child


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    child = _start(IGNORES_TERM)
    started = time.monotonic()
    assert stop_group(child.pid, grace=1.0)
    assert 1.0 <= time.monotonic() - started < 10
    assert child.poll() is not None


def test_a_group_that_stops_on_sigterm_is_not_waited_for() -> None:
    child = _start("import time; print('ready', flush=True); time.sleep(60)")
    started = time.monotonic()
    assert stop_group(child.pid, grace=30.0)
    assert time.monotonic() - started < 5
    assert child.poll() is not None


def test_a_group_that_is_gone_was_not_running() -> None:
    child = _start("print('ready', flush=True)")
    child.wait()
    assert not stop_group(child.pid)
