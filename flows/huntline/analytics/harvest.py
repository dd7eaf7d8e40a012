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

What is copied is bounded too (:class:`Bound`): a hostile image could fill ``/data/output`` with
a huge file, or with millions of names, and have the host copy and then read them. At most
``HUNTLINE_ANALYTICS_OUTPUT_MB`` (1,024 MiB) are copied out, outputs and display together, and
at most ``HUNTLINE_ANALYTICS_OUTPUT_FILES`` (1,000) names are listed in each folder. A file is
measured (``fstat``) before a byte of it is read, and copying stops at the limit whatever the
size said, so nothing past the limit is read; the step fails naming the image, the path and the
limit.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from huntline.analytics import contract
from huntline.errors import AnalyticsError

log = logging.getLogger(__name__)

#: The settings of :class:`Bound` and their defaults.
ENV_BYTES, DEFAULT_MB = "HUNTLINE_ANALYTICS_OUTPUT_MB", 1024
ENV_FILES, DEFAULT_FILES = "HUNTLINE_ANALYTICS_OUTPUT_FILES", 1000
_BLOCK = 1 << 20

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_HINT = (
    "an analytics must write regular files under /data/output and /data/display; "
    "links and special files are refused because huntline would read them on the host"
)


@dataclass
class Bound:
    """What may still be copied out of one analytics' work directory."""

    bytes_left: int
    files: int
    limit_mb: int

    @classmethod
    def from_env(cls) -> Bound:
        """The bound set by ``HUNTLINE_ANALYTICS_OUTPUT_MB`` and ``..._FILES`` (or defaults).

        Raises:
            AnalyticsError: A setting is not a positive whole number.
        """
        megabytes, files = _setting(ENV_BYTES, DEFAULT_MB), _setting(ENV_FILES, DEFAULT_FILES)
        return cls(bytes_left=megabytes * 2**20, files=files, limit_mb=megabytes)

    def too_much(self, image: str, path: str) -> AnalyticsError:
        return AnalyticsError(
            f"analytics {image} wrote more than {self.limit_mb:,} MiB under /data/output and "
            f"/data/display (stopped copying at /data/{path})",
            image=image,
            file=path,
            hint=f"if the analytics really writes this much, raise {ENV_BYTES}",
        )

    def too_many(self, image: str, folder: str) -> AnalyticsError:
        return AnalyticsError(
            f"analytics {image} wrote more than {self.files:,} files in /data/{folder}",
            image=image,
            file=folder,
            hint=f"the contract asks for one output per input and one display ({ENV_FILES})",
        )


def _setting(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise AnalyticsError(
            f"{name}={text!r} is not a positive whole number",
            hint=f"unset it for the default ({default:,})",
        )
    return int(text)


def _listing(directory: int | None, folder: str, image: str, bound: Bound) -> list[str]:
    """The names in ``directory``, sorted; more than ``bound.files`` fail without reading on."""
    if directory is None:
        return []
    names: list[str] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if len(names) == bound.files:
                raise bound.too_many(image, folder)
            names.append(entry.name)
    return sorted(names)


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


def _copy_regular(
    directory: int, folder: str, name: str, target: Path, image: str, bound: Bound
) -> Path:
    """Copy ``folder/name`` (opened under ``directory``) to ``target`` if it is a regular file
    and fits in what ``bound`` has left (measured first; never read past it)."""
    shown = f"{folder}/{name}"
    fd = _open_regular(directory, name, shown, image)
    if fd is None:
        raise AnalyticsError(f"analytics {image}: /data/{shown} vanished", image=image)
    target.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(fd, "rb") as source, open(target, "xb") as copy:  # "x": the folder is fresh
        if os.fstat(fd).st_size > bound.bytes_left:
            raise bound.too_much(image, shown)
        while block := source.read(min(_BLOCK, bound.bytes_left + 1)):
            if len(block) > bound.bytes_left:  # it grew since it was measured
                raise bound.too_much(image, shown)
            bound.bytes_left -= len(block)
            copy.write(block)
    return target


def read_regular(workdir: Path, name: str, *, image: str, limit: int = 8 * 2**20) -> bytes | None:
    """The bytes of the regular file ``workdir/name`` (no links followed); None if absent.

    Raises:
        AnalyticsError: It is not a regular file, or holds more than ``limit`` bytes (not read).
    """
    with _directory(workdir, ".", image) as directory:
        assert directory is not None
        fd = _open_regular(directory, name, name, image)
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as source:
            data = source.read(limit + 1)
        if len(data) > limit:
            raise AnalyticsError(
                f"analytics {image} wrote more than {limit:,} bytes to /data/{name}", image=image
            )
        return data


def harvest(
    workdir: Path, n_inputs: int, image: str, *, logs: str = "", bound: Bound | None = None
) -> tuple[dict[int, Path], Path | None, list[str]]:
    """Copy the outputs and the display out of ``workdir``, refusing links and special files,
    and no more than ``bound`` (by default :meth:`Bound.from_env`).

    Call it only once the analytics has ended (its container removed, its process gone).
    ``logs`` (what the analytics printed) travel with an error, to be stored beside the step.

    Returns:
        The copied outputs by variable index, the copied display (or None), and notes about
        output files that match no input (ignored, not read).

    Raises:
        AnalyticsError: an output or display, or a folder on the way, is not a regular file
            (a link, a FIFO, ...), there is more than one display, or more was written than
            the bound allows.
    """
    try:
        return _harvest(workdir, n_inputs, image, bound or Bound.from_env())
    except AnalyticsError as error:
        error.context.setdefault("logs", logs)
        raise


def _harvest(
    workdir: Path, n_inputs: int, image: str, bound: Bound
) -> tuple[dict[int, Path], Path | None, list[str]]:
    into = Path(tempfile.mkdtemp(prefix="collected-", dir=workdir.parent))
    outputs: dict[int, Path] = {}
    notes: list[str] = []
    with _directory(workdir, contract.OUTPUT_DIR, image) as directory:
        for name in _listing(directory, contract.OUTPUT_DIR, image, bound):
            index = contract.output_index(name)
            if index is None or index >= n_inputs:
                notes.append(f"{image} wrote output/{name}, which matches no input; ignored")
            elif directory is not None:
                target = into / contract.OUTPUT_DIR / name
                outputs[index] = _copy_regular(
                    directory, contract.OUTPUT_DIR, name, target, image, bound
                )
    for note in notes:
        log.warning(note)
    display = None
    with _directory(workdir, contract.DISPLAY_DIR, image) as directory:
        names = _listing(directory, contract.DISPLAY_DIR, image, bound)
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
            display = _copy_regular(directory, contract.DISPLAY_DIR, found[0], target, image, bound)
    return outputs, display, notes
