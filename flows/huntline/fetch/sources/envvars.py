"""``$NAME`` / ``${NAME}`` in stixshifter.yaml values, one of the two ways (with Prefect
Secrets, :mod:`.secrets`) that keep credentials out of hunt books and git.

Expanded from the environment *after* the YAML is parsed, value by value, so a variable's
content can never change the YAML's structure or break its quoting. ``$$`` is a literal ``$``;
a ``$`` not followed by a name is kept as it is. An unset variable is an error that names the
profile, the field and the variable, because silently sending an empty password only moves the
failure somewhere harder to read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from huntline.errors import DataSourceError

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


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
