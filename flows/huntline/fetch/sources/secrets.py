"""Profile values that are not written in the profile: ``$ENV`` references and Prefect Secrets.

Two ways keep credentials out of hunt books and git:

``$NAME`` / ``${NAME}`` in stixshifter.yaml values
    Expanded from the environment *after* the YAML is parsed, value by value, so a variable's
    content can never change the YAML's structure or break its quoting. ``$$`` is a literal
    ``$``; a ``$`` not followed by a name is kept as it is. An unset variable is an error that
    names the profile, the field and the variable, because silently sending an empty password
    only moves the failure somewhere harder to read.

Prefect Secret blocks
    A value ``prefect-secret://BLOCK`` or ``{prefect_secret: BLOCK}`` anywhere in ``connection``
    or ``config`` (a whole ``config`` too) is replaced by the block's value at fetch time, with
    ``Secret.aload(BLOCK).get()``. A JSON-valued block replaces the value with its structure.
    Resolving at fetch time, not at load time, means plans and ``datasources list`` never need
    the Prefect API, and a rotated secret is picked up by the next run.

Every resolved secret is returned alongside the profile so callers can scrub it from messages.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from huntline.errors import DataSourceError

if TYPE_CHECKING:  # profiles imports this module for expand_env
    from huntline.fetch.sources.profiles import Profile

SECRET_SCHEME = "prefect-secret://"
SECRET_KEY = "prefect_secret"

#: Loads one Prefect Secret block by name and returns its value.
SecretLoader = Callable[[str], Awaitable[Any]]

_ENV_REFERENCE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_env(value: Any, env: Mapping[str, str], *, where: str, path: str = "") -> Any:
    """``value`` with every ``$NAME`` / ``${NAME}`` in its strings replaced from ``env``.

    Raises:
        DataSourceError: A referenced variable is not set; the message names it and the field.
    """
    if isinstance(value, str):
        return _expand_string(value, env, where=where, path=path)
    if isinstance(value, dict):
        return {
            key: expand_env(item, env, where=where, path=_join(path, key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            expand_env(item, env, where=where, path=f"{path}[{index}]")
            for index, item in enumerate(value)
        ]
    return value


def _expand_string(text: str, env: Mapping[str, str], *, where: str, path: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name is None:  # "$$"
            return "$"
        if name not in env:
            raise DataSourceError(
                f"{where}: {path or 'value'} refers to ${name}, which is not set",
                hint=f"export {name}=... before running, or write $$ for a literal $",
            )
        return env[name]

    return _ENV_REFERENCE.sub(substitute, text)


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


async def load_prefect_secret(name: str) -> Any:
    """The value of the Prefect Secret block ``name``, from the configured Prefect API."""
    from prefect.blocks.system import Secret  # imported late: prefect is slow to import

    block: Secret[Any] = await Secret.aload(name)
    return block.get()


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
    load = loader or load_prefect_secret
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


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
