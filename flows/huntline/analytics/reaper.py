"""Analytics containers whose run died are found by their labels and removed.

Why: a flow run killed with ``kill -9`` never reaches the runner's ``finally``, and its
container ran on with no one to wait for it or remove it. Every analytics container carries
``huntline.analytics=1``, ``huntline.owner=HOST:DIR`` (the owning process's scratch
directory, see :mod:`huntline.scratch`, whose lock tells whether that process lives) and,
when a run started it, ``huntline.flow_run=ID``. :func:`reap_orphans` removes the containers
of this host whose owner is dead; containers of other hosts sharing the engine, and of live
processes, are left alone.

Only owners inside this process's own scratch root are judged: the lock of an owner under
another root may be out of sight (a hunt container of the Docker pool shares the host's engine
and name but not its ``/tmp``) or unreadable (another user's), which would make a live
process look dead. Those containers are left to the processes of that root.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from huntline import scratch

log = logging.getLogger(__name__)

LABEL = "huntline.analytics"
LABEL_OWNER = "huntline.owner"
LABEL_FLOW_RUN = "huntline.flow_run"


def owner_labels() -> dict[str, str]:
    """The labels every analytics container of this process gets."""
    return {LABEL: "1", LABEL_OWNER: f"{socket.gethostname()}:{scratch.process_dir()}"}


def reap_orphans(client: Any) -> list[str]:
    """Remove this host's analytics containers whose owning process died; their names."""
    host = socket.gethostname()
    mine = scratch.root()
    removed = []
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        owner_host, _, owner = str(container.labels.get(LABEL_OWNER, "")).partition(":")
        if owner_host != host or not Path(owner).is_relative_to(mine):
            continue  # another host's, another scratch root's, or made before owners were labelled
        if scratch.is_alive(Path(owner)):
            continue
        flow_run = container.labels.get(LABEL_FLOW_RUN, "?")
        container.remove(force=True)
        removed.append(container.name)
        log.warning(
            "removed analytics container %s (%s) of flow run %s: the process that ran it died",
            container.name,
            container.attrs.get("Config", {}).get("Image"),
            flow_run,
        )
    return removed
