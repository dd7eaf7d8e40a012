"""Stopping the background processes huntline starts (the local Prefect server, its worker),
and finding a port for one (:func:`free_port`).

Each runs as the leader of its own process group, so one signal reaches what it started too
(the worker's flow-run processes). SIGTERM lets them shut down cleanly; a Prefect worker whose
server has gone was seen ignoring it for over 15 s, so after a grace period the group is
killed, and ``huntline server stop`` returns only once the processes are gone.
"""

from __future__ import annotations

import os
import signal
import socket
import time

GRACE_SECONDS = 10.0


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens now (the system picks it), for a server the
    caller is about to start, or to point a client at nothing."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_group(
    pid: int, grace: float = GRACE_SECONDS, first: signal.Signals = signal.SIGTERM
) -> bool:
    """Send ``first`` (SIGTERM) to the process group ``pid`` leads, then SIGKILL it if its
    leader outlives ``grace`` seconds; returns whether it was running."""
    try:
        os.killpg(pid, first)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while _alive(pid):
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            deadline = float("inf")  # killed: wait for it to be gone
        time.sleep(0.1)
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; reaps it first when it is this process's own child."""
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    except ChildProcessError:  # not our child: its parent reaps it
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and waits for a parent that is not reaping it (a process
    started by another command still running): it is gone for every purpose but ``kill(0)``."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
