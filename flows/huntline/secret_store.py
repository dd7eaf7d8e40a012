"""Where ``prefect-secret://`` values come from: one hook, filled by the Prefect layer.

Two stages read Secret blocks: the fetch stage (a profile's ``connection`` and ``config``) and
the alert stage (a destination's URL). Neither imports Prefect, so both ask here, beneath
them, and :mod:`huntline.prefect.services` installs Prefect's loader (``Secret.aload``) when
the Prefect layer loads (the flows and the CLI load it). This module imports nothing heavy, so
installing costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from huntline.errors import DataSourceError

#: Loads one Secret block by name and returns its value.
SecretLoader = Callable[[str], Awaitable[Any]]

_installed: list[SecretLoader] = []


def use_secret_loader(loader: SecretLoader) -> None:
    """Make ``loader`` the one :func:`load_secret` uses (the Prefect layer installs its own)."""
    _installed[:] = [loader]


async def load_secret(name: str) -> Any:
    """The value of the Secret block ``name``, through the installed loader.

    Raises:
        DataSourceError: no loader is installed (huntline runs outside its Prefect layer).
    """
    if not _installed:
        raise DataSourceError(
            f"cannot load Secret block {name!r}: no secret store is installed",
            block=name,
            hint="import huntline.prefect (the CLI and the flows do) before reading "
            "prefect-secret:// values",
        )
    return await _installed[0](name)
