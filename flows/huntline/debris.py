"""What a killed run left behind is cleaned when the next one starts.

``kill -9`` (or a lost machine) skips every ``finally``: the run's analytics container runs on
and its temporary files stay. Each run and each worker start calls :func:`clean_up` first: it
removes this host's analytics containers whose owning process died
(:func:`huntline.analytics.reaper.reap_orphans`), then the scratch directories of dead
processes (:func:`huntline.scratch.clean_stale`). The flow run itself is marked ``Crashed`` by
the server, from its missing heartbeats (:mod:`huntline.prefect.zombies`).
"""

from __future__ import annotations

import logging

from huntline import scratch

log = logging.getLogger(__name__)


def clean_up() -> list[str]:
    """Remove dead runs' containers, then their scratch directories; what was removed.

    Without a reachable Docker engine only the scratch directories are cleaned.
    """
    removed: list[str] = []
    try:
        import docker
        from docker.errors import DockerException

        from huntline.analytics.reaper import reap_orphans

        client = docker.from_env(timeout=10)
    except Exception as error:  # no SDK, no engine: nothing ran there to reap
        log.debug("no Docker engine to reap containers from: %s", error)
    else:
        try:
            removed += [f"container {name}" for name in reap_orphans(client)]
        except DockerException as error:
            log.warning("could not look for orphaned analytics containers: %s", error)
        finally:
            client.close()
    removed += [f"directory {path}" for path in scratch.clean_stale()]
    return removed
