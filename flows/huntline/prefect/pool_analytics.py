"""Analytics containers from inside the Docker pool's runs, as siblings on the host's engine.

Opt-in (``huntline pool create docker --analytics``), because it is a security trade-off: a
process that can talk to the Docker engine can start a privileged container that mounts the
host's ``/``, so access to the socket is root on the host. The run's own lock-down (user
65534, read-only root, no capabilities) no longer bounds what a hunt's code could do; the
books and the huntline code the image runs must be trusted as much as the host. The analytics
containers themselves keep their full lock-down (:mod:`huntline.analytics.docker_runner`: no
network, read-only root, user 65534, no capabilities, memory and pid limits): they are started
by the same runner, only from inside the hunt's container.

What the pool gets, and why:

- the engine's Unix socket mounted at the same path, and the socket's group added to the
  container's user (``group_add``): the socket is ``root:docker`` mode 0660, and user 65534
  belongs to no group on the host, so without the group it gets "permission denied". The gid is
  the host's, read from the socket when the pool is made (names mean nothing across the image
  boundary).
- a host scratch directory mounted at the identical path, with ``HUNTLINE_SCRATCH`` inside it:
  the runner bind-mounts its per-step work directory as ``/data`` of the analytics container,
  and the engine resolves that path on the host, not in the hunt's container. So the work
  directory must live at a path that is the same on both sides. The directory is made mode
  1777 (as ``/tmp``); the run makes its own private (0700) root inside it
  (:func:`huntline.scratch.root` refuses one that is not its user's), so another host user
  cannot prepare it. The outputs are still taken out by :mod:`huntline.analytics.harvest`
  (links and special files refused, sizes bounded), inside the run's container.

Bind mounts were picked over copying through the Docker API (``put_archive`` /
``get_archive``): the runner stays the one used everywhere else, with no second path for
inputs and outputs to keep in step.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from huntline.errors import ServerError

DEFAULT_SOCKET = Path("/var/run/docker.sock")
#: The run's private scratch root, inside the shared host directory (its user's).
RUN_ROOT = "huntline-65534"


@dataclass(frozen=True)
class AnalyticsAccess:
    """What a pool's containers need to start sibling analytics containers."""

    volumes: tuple[str, ...]
    env: dict[str, str]
    group: str


def default_scratch() -> Path:
    """The host directory the pool's runs share with their analytics containers."""
    return Path(tempfile.gettempdir()) / f"huntline-pool-{os.getuid()}"


def engine_socket(environ: dict[str, str] | None = None) -> Path:
    """The host engine's Unix socket: ``DOCKER_HOST`` if it names one, else the default.

    Raises:
        ServerError: ``DOCKER_HOST`` is not a Unix socket, or the socket is missing.
    """
    url = (os.environ if environ is None else environ).get("DOCKER_HOST", "")
    if url and urlparse(url).scheme != "unix":
        raise ServerError(
            f"DOCKER_HOST={url} is not a Unix socket: a pool's containers can only reach "
            "the engine through its socket mounted inside",
            hint="unset DOCKER_HOST, or point it at the engine's unix:// socket",
        )
    path = Path(urlparse(url).path) if url else DEFAULT_SOCKET
    if not path.is_socket():
        raise ServerError(
            f"{path} is not a Docker engine socket", hint="start dockerd, or set DOCKER_HOST"
        )
    return path


def shared_scratch(path: Path) -> Path:
    """Make (or check) the shared host directory: mode 1777, not a link, this user's.

    Raises:
        ServerError: it is a link, not a directory, or another user's.
    """
    path.mkdir(parents=True, exist_ok=True)
    found = os.lstat(path)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise ServerError(
            f"--scratch {path} is not a directory of this user",
            hint="remove it, or pick another with --scratch",
        )
    path.chmod(0o1777)
    return path.resolve()


def analytics_access(scratch: Path, socket: Path) -> AnalyticsAccess:
    """The mounts, settings and group of a pool whose runs start analytics containers."""
    host = shared_scratch(scratch)
    return AnalyticsAccess(
        volumes=(f"{socket}:{socket}", f"{host}:{host}"),
        env={"DOCKER_HOST": f"unix://{socket}", "HUNTLINE_SCRATCH": str(host / RUN_ROOT)},
        group=str(socket.stat().st_gid),
    )
