"""Profile values that are not written in the profile: Prefect Secrets (``$ENV`` references
are :mod:`.envvars`, expanded when the profile is loaded).

Prefect Secret blocks
    A value ``prefect-secret://BLOCK`` or ``{prefect_secret: BLOCK}`` anywhere in ``connection``
    or ``config`` (a whole ``config`` too) is replaced by the block's value at fetch time, with
    ``Secret.aload(BLOCK).get()``. A JSON-valued block replaces the value with its structure.
    Resolving at fetch time, not at load time, means plans and ``datasources list`` never need
    the Prefect API, and a rotated secret is picked up by the next run.

Every resolved secret is returned alongside the profile so callers can scrub it from messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from huntline.errors import DataSourceError
from huntline.fetch.sources.profiles import Profile
from huntline.secret_store import SecretLoader as SecretLoader
from huntline.secret_store import load_secret

SECRET_SCHEME = "prefect-secret://"
SECRET_KEY = "prefect_secret"


def secret_names(value: Any) -> list[str]:
    """The names of every Prefect Secret block that ``value`` refers to, in order."""
    name = _secret_reference(value)
    if name is not None:
        return [name]
    if isinstance(value, dict):
        return [found for item in value.values() for found in secret_names(item)]
    if isinstance(value, list):
        return [found for item in value for found in secret_names(item)]
    return []


async def resolve_secrets(
    profile: Profile, loader: SecretLoader | None = None
) -> tuple[Profile, list[str]]:
    """Return ``profile`` with its secret references replaced, and the secret strings loaded.

    Each block is loaded once, however often it is referenced.

    Raises:
        DataSourceError: A block cannot be loaded; the message names the block and the field,
            never a value.
    """
    names = secret_names(profile.connection) + secret_names(profile.config)
    if not names:
        return profile, []
    load = loader or load_secret
    values: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        try:
            values[name] = await load(name)
        except Exception as error:
            raise DataSourceError(
                f"data source {profile.name!r}: cannot load Prefect Secret block {name!r}: "
                f"{type(error).__name__}: {error}",
                source=profile.name,
                block=name,
                hint=(
                    f"create it (prefect block create secret, or "
                    f"Secret(value=...).save({name!r})) and check PREFECT_API_URL"
                ),
            ) from None
    connection = _substitute(profile.connection, values)
    config = _substitute(profile.config, values)
    for key, part in (("connection", connection), ("config", config)):
        if not isinstance(part, dict):
            raise DataSourceError(
                f"data source {profile.name!r}: {key} must be a mapping after loading its "
                "Prefect Secret block",
                source=profile.name,
            )
    secrets = [text for value in values.values() for text in _strings(value)]
    return replace(profile, connection=connection, config=config), secrets


def _substitute(value: Any, values: Mapping[str, Any]) -> Any:
    name = _secret_reference(value)
    if name is not None:
        return values[name]
    if isinstance(value, dict):
        return {key: _substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    return value


def _secret_reference(value: Any) -> str | None:
    """The block name if ``value`` is a secret reference, else None."""
    if isinstance(value, str) and value.startswith(SECRET_SCHEME):
        return value[len(SECRET_SCHEME) :] or None
    if isinstance(value, dict) and set(value) == {SECRET_KEY}:
        name = value[SECRET_KEY]
        return name if isinstance(name, str) and name else None
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [str(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []
