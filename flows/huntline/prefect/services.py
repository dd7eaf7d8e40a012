"""The Prefect services the stages ask for, installed into their hooks.

The stages import no Prefect; where one needs a service of the orchestrator it declares a small
hook and this module fills it with Prefect's:

- the fetch and alert stages load ``prefect-secret://`` values through
  :func:`huntline.secret_store.load_secret`: here, ``Secret.aload``;
- the analytics runners hold a container slot and send log lines through
  :mod:`huntline.analytics.slots`: here, a global concurrency limit
  (:mod:`.container_cap`) and the task's run logger.

:func:`install` runs when :mod:`huntline.prefect` is imported (every flow, the worker's
entrypoints and the CLI go through it), so code that runs hunts under Prefect never sees the
stand-alone defaults. Prefect itself is imported only when a service is used.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

from huntline.analytics.slots import LineSink, Standalone, use_orchestrator
from huntline.secret_store import use_secret_loader


async def load_prefect_secret(name: str) -> Any:
    """The value of the Prefect Secret block ``name``, from the configured Prefect API.

    Raises:
        ValueError: there is no such block (Prefect's way of saying so).
    """
    from prefect.blocks.system import Secret

    block: Secret[Any] = await Secret.aload(name)
    return block.get()


class PrefectOrchestrator(Standalone):
    """The analytics stage's orchestrator under Prefect (see :mod:`huntline.analytics.slots`)."""

    def container_slot(self) -> AbstractContextManager[None]:
        from huntline.prefect.container_cap import container_slot

        return container_slot()

    def log_sink(self, image: str) -> LineSink:
        """The Prefect run logger's sink, or the stand-alone one outside a run."""
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger

        try:
            logger: logging.Logger | logging.LoggerAdapter[Any] = get_run_logger()
        except MissingContextError:
            return super().log_sink(image)
        return lambda line: logger.info("%s | %s", image, line)


def install() -> None:
    """Fill the stages' hooks with Prefect's services."""
    use_secret_loader(load_prefect_secret)
    use_orchestrator(PrefectOrchestrator())
