"""One directory for every temporary file huntline makes, cleaned of dead processes' leftovers.

Why: a run killed with ``kill -9`` runs no ``finally``. Its fetch spools (tens of MB) and its
analytics work directories stayed in ``/tmp`` for good, under names nothing could tell apart
from a live run's. So every temporary directory huntline makes lives under one root
(``$HUNTLINE_SCRATCH``, default ``<tmp>/huntline-<uid>``), inside a directory per process that
holds an exclusive ``flock`` on its ``.lock`` file for the process's lifetime. The kernel
drops the lock when the process dies, however it dies, so :func:`clean_stale` can tell a dead
owner's directory (lock free) from a live one's (lock held) without trusting pids, which are
reused. A process's directory is made under a hidden name and renamed once locked, so a
cleaner never sees a live directory without its lock.

The root is private (mode 0700, owned by this user, not a link): ``/tmp`` is shared, and a
predictable name there must not be a place another user can prepare.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from huntline.errors import HuntlineError

log = logging.getLogger(__name__)

ENV_ROOT = "HUNTLINE_SCRATCH"
LOCK = ".lock"
_PREFIX = "run-"
_HIDDEN = ".new-"
#: A hidden directory (made, not yet locked) older than this was left by a process that died.
HIDDEN_GRACE = 60.0

_guard = threading.Lock()
_mine: tuple[Path, int] | None = None  # this process's directory and its locked descriptor


def root() -> Path:
    """The scratch root, created private if missing.

    Raises:
        HuntlineError: the root exists but is a link, not a directory, or another user's.
    """
    base = os.environ.get(ENV_ROOT) or str(Path(tempfile.gettempdir()) / f"huntline-{os.getuid()}")
    path = Path(base)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = os.lstat(path)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise HuntlineError(
            f"scratch directory {path} is not a directory of this user",
            hint=f"remove it, or set {ENV_ROOT} to a private directory",
        )
    return path


def process_dir() -> Path:
    """This process's scratch directory (made and locked on first use)."""
    global _mine
    with _guard:
        if _mine is not None and _mine[0].is_dir() and _owner_pid() == os.getpid():
            return _mine[0]
        base = root()
        fresh = Path(tempfile.mkdtemp(prefix=f"{_HIDDEN}{os.getpid()}-", dir=base))
        fd = os.open(fresh / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        final = base / fresh.name.replace(_HIDDEN, _PREFIX, 1)
        fresh.rename(final)
        _mine = (final, fd)
        atexit.register(_remove, final)  # a normal exit cleans up after itself
        return final


def _remove(path: Path) -> None:
    if _mine is not None and _mine[0] == path and _owner_pid() == os.getpid():
        shutil.rmtree(path, ignore_errors=True)


def _owner_pid() -> int | None:
    """The pid that made ``_mine`` (a forked child must make its own directory)."""
    if _mine is None:
        return None
    return int(_mine[0].name.removeprefix(_PREFIX).split("-", 1)[0])


def directory(prefix: str) -> Path:
    """A fresh directory for one job (an analytics run, a spool) in this process's scratch."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=process_dir()))


def is_alive(owner: Path) -> bool:
    """Whether the process that owns the scratch directory ``owner`` still runs (holds its
    lock). A directory that is gone was cleaned after its owner died."""
    lock = owner / LOCK
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False  # gone (cleaned) or never there: no live owner
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def clean_stale() -> list[Path]:
    """Remove the scratch directories of processes that died; returns what was removed."""
    removed: list[Path] = []
    base = root()
    mine = _mine[0].name if _mine is not None else None
    for entry in sorted(base.iterdir()):
        if entry.name == mine or entry.is_symlink():
            continue
        if entry.name.startswith(_HIDDEN):  # died between making and locking it
            if time.time() - entry.lstat().st_mtime < HIDDEN_GRACE:
                continue
        elif not entry.name.startswith(_PREFIX) or is_alive(entry):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
        log.info("removed %s, left by a process that died", entry)
    return removed
