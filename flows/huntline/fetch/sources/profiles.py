"""stix-shifter data source profiles, found the way Kestrel finds them.

Existing Kestrel setups must carry over unchanged, so a profile NAME is looked up:

1. in the environment: ``STIXSHIFTER_<NAME>_CONNECTOR``, ``STIXSHIFTER_<NAME>_CONNECTION``
   (JSON) and ``STIXSHIFTER_<NAME>_CONFIG`` (JSON), with NAME upper-cased. All three must be
   set. The environment wins over the file, so a deployment can override a checked-in profile;
2. in a ``stixshifter.yaml`` of ``profiles: {NAME: {connector, connection, config}}``: the file
   passed in, else ``$HUNTLINE_STIXSHIFTER_CONFIG``, else ``./stixshifter.yaml`` if it exists.

Names compare case-insensitively, as environment variable names force upper case anyway.

Values in the file may use ``$NAME`` / ``${NAME}``, expanded from the environment after parsing
(see :mod:`.secrets`, which also resolves Prefect Secret block references at fetch
time). Only the profile asked for is expanded, so an unset variable in another profile does not
break this one.

``connection`` and ``config`` hold hosts and credentials. They are excluded from ``repr`` and
never put in error messages: errors name the profile, the variable or the file, not the values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huntline.errors import DataSourceError
from huntline.fetch.sources.envvars import expand_env
from huntline.yamlfile import load_yaml, located

ENV_PREFIX = "STIXSHIFTER_"
ENV_PARTS = ("CONNECTOR", "CONNECTION", "CONFIG")
CONFIG_FILE_ENV = "HUNTLINE_STIXSHIFTER_CONFIG"
DEFAULT_CONFIG_FILE = Path("stixshifter.yaml")


@dataclass(frozen=True)
class Profile:
    """One stix-shifter data source: the connector module and how to reach and log in to it."""

    name: str
    connector: str
    connection: dict[str, Any] = field(repr=False)
    config: dict[str, Any] = field(repr=False)
    origin: str = ""  # where the profile came from: an env prefix or a file path


def find_profile(
    name: str,
    *,
    profiles_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Profile:
    """Return the profile called ``name``.

    Raises:
        DataSourceError: No such profile (the message lists the known ones), or it is malformed.
    """
    env = os.environ if environ is None else environ
    from_env = _env_profile(name, env)
    if from_env is not None:
        return from_env
    path = config_file(profiles_file, env)
    profiles = _file_profiles(path) if path else {}
    if name.lower() in profiles:
        raw, place = profiles[name.lower()]
        raw = expand_env(raw, env, where=f"data source {name!r} ({place})")
        return _parse_profile(name, raw, origin=str(path), place=place)
    known = sorted(set(_env_names(env)) | set(profiles))
    where = f"the environment and {path}" if path else "the environment (no stixshifter.yaml)"
    raise DataSourceError(
        f"unknown data source {name!r}: no such stix-shifter profile in {where}; "
        f"known profiles: {', '.join(known) if known else '(none)'}",
        source=name,
        hint=(
            f"set {ENV_PREFIX}{name.upper()}_CONNECTOR, _CONNECTION and _CONFIG, or add "
            f"profiles.{name} to stixshifter.yaml; file:// and http(s):// bundles need no profile"
        ),
    )


def known_profiles(
    *, profiles_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The names of every profile defined in the environment or the profiles file."""
    env = os.environ if environ is None else environ
    path = config_file(profiles_file, env)
    return sorted(set(_env_names(env)) | set(_file_profiles(path) if path else {}))


def config_file(explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    """The profiles file to read: explicit, else the env variable, else ./stixshifter.yaml."""
    if explicit is not None:
        return explicit
    if env.get(CONFIG_FILE_ENV):
        return Path(env[CONFIG_FILE_ENV])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _env_names(env: Mapping[str, str]) -> list[str]:
    suffix = "_CONNECTOR"
    return [
        key[len(ENV_PREFIX) : -len(suffix)].lower()
        for key in env
        if key.startswith(ENV_PREFIX) and key.endswith(suffix)
    ]


def _env_profile(name: str, env: Mapping[str, str]) -> Profile | None:
    """The profile from ``STIXSHIFTER_<NAME>_*``, or None when none of the three is set."""
    prefix = f"{ENV_PREFIX}{name.upper()}_"
    values = {part: env.get(prefix + part) for part in ENV_PARTS}
    if not any(values.values()):
        return None
    missing = [prefix + part for part, value in values.items() if not value]
    if missing:
        raise DataSourceError(
            f"data source {name!r} is only partly set in the environment: "
            f"{', '.join(missing)} missing",
            source=name,
            hint="set all three of _CONNECTOR, _CONNECTION (JSON) and _CONFIG (JSON)",
        )
    raw: dict[str, Any] = {"connector": values["CONNECTOR"]}
    for part, key in (("CONNECTION", "connection"), ("CONFIG", "config")):
        try:
            raw[key] = json.loads(values[part] or "")
        except json.JSONDecodeError as error:
            # json's message holds only a position, never the (secret) text itself.
            raise DataSourceError(
                f"data source {name!r}: {prefix}{part} is not valid JSON ({error.msg} at "
                f"line {error.lineno} column {error.colno})",
                source=name,
            ) from None
    return _parse_profile(name, raw, origin=f"environment {prefix}*")


def _file_profiles(path: Path) -> dict[str, tuple[Any, str]]:
    """The ``profiles`` of a stixshifter.yaml, keyed by lower-cased name, each with its place
    (``FILE:LINE``). Messages name fields and lines, never values (they may be secrets)."""
    document = load_yaml(path, DataSourceError, "stix-shifter profiles file")
    if document.problems:
        raise located(
            DataSourceError, f"{path}: invalid profiles file", document.problems, str(path)
        )
    data = document.data
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict):
        raise DataSourceError(
            f"stix-shifter profiles file {path} has no 'profiles' mapping",
            file=str(path),
            hint="write profiles: {NAME: {connector: ..., connection: {...}, config: {...}}}",
        )
    return {
        str(key).lower(): (value, f"{path}:{document.line(('profiles', key))}")
        for key, value in profiles.items()
    }


def _parse_profile(name: str, raw: Any, *, origin: str, place: str | None = None) -> Profile:
    """Check the shape of one profile; messages name fields (and ``place``, its FILE:LINE),
    never their values."""
    where = f"data source {name!r} ({place or origin})"
    if not isinstance(raw, dict):
        raise DataSourceError(f"{where}: expected a mapping", source=name)
    unknown = sorted(set(raw) - {"connector", "connection", "config"})
    if unknown:
        raise DataSourceError(
            f"{where}: unknown keys {', '.join(map(str, unknown))}",
            source=name,
            hint="a profile has exactly connector, connection and config",
        )
    connector = raw.get("connector")
    if not isinstance(connector, str) or not connector:
        raise DataSourceError(f"{where}: connector must be a module name", source=name)
    for key in ("connection", "config"):
        if not isinstance(raw.get(key, {}), dict):
            raise DataSourceError(f"{where}: {key} must be a mapping", source=name)
    return Profile(
        name=name,
        connector=connector,
        connection=dict(raw.get("connection") or {}),
        config=dict(raw.get("config") or {}),
        origin=origin,
    )
