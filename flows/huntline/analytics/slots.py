"""Slots for analytics containers, and where their log lines go: what the analytics stage asks
of whatever runs it.

Why: fifty scheduled hunts firing at the same minute would otherwise start fifty containers on
one Docker host, so each container run holds one slot of a limit shared across flows and
workers; and an analytics that runs for ten minutes should show its progress where its run's
log is. Both need an orchestrator, and the analytics stage imports none: it asks through two
small hooks, which the Prefect layer fills (:mod:`huntline.prefect.services`: a global
concurrency limit, the task's run logger). Without one, no cap applies (nothing to coordinate
with) and lines go to this module's logger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

log = logging.getLogger(__name__)

#: Receives one line of an analytics' output.
LineSink = Callable[[str], None]


class Orchestrator(Protocol):
    """What an orchestrator provides to the analytics stage."""

    def container_slot(self) -> AbstractContextManager[None]:
        """Hold one slot of the cap on analytics containers while the block runs."""
        ...

    def log_sink(self, image: str) -> LineSink:
        """Where the lines of ``image``'s output go, each logged as ``<image> | <line>``."""
        ...


class Standalone:
    """No orchestrator: no cap, and lines to this module's logger."""

    @contextmanager
    def _free(self) -> Iterator[None]:
        yield

    def container_slot(self) -> AbstractContextManager[None]:
        return self._free()

    def log_sink(self, image: str) -> LineSink:
        return lambda line: log.info("%s | %s", image, line)


_installed: list[Orchestrator] = [Standalone()]


def use_orchestrator(orchestrator: Orchestrator) -> None:
    """Make ``orchestrator`` the one the runners ask (the Prefect layer installs its own)."""
    _installed[:] = [orchestrator]


def container_slot() -> AbstractContextManager[None]:
    """One slot of the cap on analytics containers, for a ``with`` block."""
    return _installed[0].container_slot()


def task_log_sink(image: str) -> LineSink:
    """Where ``image``'s output lines go: the current run's log, or this module's logger."""
    return _installed[0].log_sink(image)
