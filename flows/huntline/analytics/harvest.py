"""Take an analytics' outputs and display out of its work directory without following links.

Why: the work directory is mounted into the container at ``/data`` and the container writes
whatever it likes there. huntline runs on the host, often as root, so a symbolic link
``/data/display/report.html -> /etc/shadow`` read naively would copy the host's file into
object storage, and a linked ``0.parquet.gz`` would merge a host file into the variable. A
link is resolved on the host, where its target means the host's file.

So every name is opened relative to a directory descriptor with ``O_NOFOLLOW``, starting at
the work directory itself: a link anywhere on the way (``output`` replaced by a link to
``/etc``, a linked ``0.parquet.gz``) fails the open. ``O_NONBLOCK`` keeps a FIFO from
blocking the open, and ``fstat`` on the opened descriptor accepts only a regular file (no
FIFO, device, socket or directory). Each accepted file is copied at once into a fresh
directory that only the host can write (``mkdtemp``, created after the analytics ended), and
only the copies are read afterwards, so nothing can swap a file between the check and the read.
Anything else fails the step with an error that names the image and the path.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from huntline.analytics import contract
from huntline.errors import AnalyticsError

log = logging.getLogger(__name__)

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_HINT = (
    "an analytics must write regular files under /data/output and /data/display; "
    "links and special files are refused because huntline would read them on the host"
)


def _refused(image: str, name: str, what: str) -> AnalyticsError:
    return AnalyticsError(
        f"analytics {image} wrote /data/{name} as {what}; only regular files are read",
        image=image,
        file=name,
        hint=_HINT,
    )


def _kind(mode: int) -> str:
    """``a symbolic link``, ``a directory``, ... for an error message."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((text for test, text in kinds if test(mode)), "a special file")


@contextmanager
def _directory(workdir: Path, name: str, image: str) -> Iterator[int | None]:
    """A descriptor of ``workdir/name`` reached without following a link; None if absent."""
    try:
        root = os.open(workdir, _OPEN_DIR)
    except OSError as error:
        raise AnalyticsError(
            f"the work directory {workdir} of analytics {image} is not a plain directory: {error}",
            image=image,
        ) from error
    try:
        try:
            fd = os.open(name, _OPEN_DIR, dir_fd=root)
        except FileNotFoundError:
            yield None
            return
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                mode = os.stat(name, dir_fd=root, follow_symlinks=False).st_mode
                raise _refused(image, name, _kind(mode)) from error
            raise
        try:
            yield fd
        finally:
            os.close(fd)
    finally:
        os.close(root)


def _open_regular(directory: int, name: str, shown: str, image: str) -> int | None:
    """A blocking descriptor of the regular file ``name`` under ``directory``; None if absent."""
    try:
        fd = os.open(name, _OPEN_FILE, dir_fd=directory)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENXIO):  # a link; a socket
            raise AnalyticsError(
                f"cannot read /data/{shown} written by analytics {image}: {error}", image=image
            ) from error
        mode = os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode
        raise _refused(image, shown, _kind(mode)) from error
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _refused(image, shown, _kind(mode))
    os.set_blocking(fd, True)
    return fd


def _copy_regular(directory: int, folder: str, name: str, target: Path, image: str) -> Path:
    """Copy ``folder/name`` (opened under ``directory``) to ``target`` if it is a regular file."""
    fd = _open_regular(directory, name, f"{folder}/{name}", image)
    if fd is None:
        raise AnalyticsError(f"analytics {image}: /data/{folder}/{name} vanished", image=image)
    target.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(fd, "rb") as source, open(target, "xb") as copy:
        shutil.copyfileobj(source, copy)  # "x": the fresh directory holds no file to overwrite
    return target


def read_regular(workdir: Path, name: str, *, image: str) -> bytes | None:
    """The bytes of the regular file ``workdir/name`` (no links followed); None if absent."""
    with _directory(workdir, ".", image) as directory:
        assert directory is not None
        fd = _open_regular(directory, name, name, image)
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as source:
            return source.read()


def harvest(
    workdir: Path, n_inputs: int, image: str, *, logs: str = ""
) -> tuple[dict[int, Path], Path | None, list[str]]:
    """Copy the outputs and the display out of ``workdir``, refusing links and special files.

    Call it only once the analytics has ended (its container removed, its process gone).
    ``logs`` (what the analytics printed) travel with an error, to be stored beside the step.

    Returns:
        The copied outputs by variable index, the copied display (or None), and notes about
        output files that match no input (ignored, not read).

    Raises:
        AnalyticsError: an output or display, or a folder on the way, is not a regular file
            (a link, a FIFO, ...), or there is more than one display.
    """
    try:
        return _harvest(workdir, n_inputs, image)
    except AnalyticsError as error:
        error.context.setdefault("logs", logs)
        raise


def _harvest(
    workdir: Path, n_inputs: int, image: str
) -> tuple[dict[int, Path], Path | None, list[str]]:
    into = Path(tempfile.mkdtemp(prefix="collected-", dir=workdir.parent))
    outputs: dict[int, Path] = {}
    notes: list[str] = []
    with _directory(workdir, contract.OUTPUT_DIR, image) as directory:
        for name in sorted(os.listdir(directory)) if directory is not None else []:
            index = contract.output_index(name)
            if index is None or index >= n_inputs:
                notes.append(f"{image} wrote output/{name}, which matches no input; ignored")
            elif directory is not None:
                target = into / contract.OUTPUT_DIR / name
                outputs[index] = _copy_regular(directory, contract.OUTPUT_DIR, name, target, image)
    for note in notes:
        log.warning(note)
    display = None
    with _directory(workdir, contract.DISPLAY_DIR, image) as directory:
        names = sorted(os.listdir(directory)) if directory is not None else []
        found = [name for name in names if fnmatch(name, contract.DISPLAY_GLOB)]
        if len(found) > contract.MAX_DISPLAYS:
            shown = ", ".join(f"display/{name}" for name in found)
            raise AnalyticsError(
                f"analytics {image} wrote {len(found)} displays ({shown}); the contract allows one",
                image=image,
                files=found,
            )
        if found and directory is not None:
            target = into / contract.DISPLAY_DIR / found[0]
            display = _copy_regular(directory, contract.DISPLAY_DIR, found[0], target, image)
    return outputs, display, notes
