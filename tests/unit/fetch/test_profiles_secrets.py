"""$ENV expansion in stixshifter.yaml and Prefect Secret references: resolved, never leaked.

Secret blocks are loaded through an injected stub loader here (a real Prefect server takes 20-30 s
to start); the default loader is ``Secret.aload(name).get()``.
"""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import Profile, StixShifterSource, find_profile
from huntline.fetch.sources.envvars import expand_env
from huntline.fetch.sources.secrets import resolve_secrets, secret_names

PROFILE_FILE = """\
profiles:
  siem:
    connector: elastic_ecs
    connection:
      host: ${SIEM_HOST}
      port: 9200
      indices: "logs-$INDEX_SUFFIX"
      note: "costs $$5 and $ alone"
    config:
      auth: {id: key-id, api_key: $SIEM_KEY}
  other:
    connector: mysql
    connection: {host: $NOT_SET_ANYWHERE}
    config: {}
"""


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    path = tmp_path / "stixshifter.yaml"
    path.write_text(PROFILE_FILE)
    return path


def test_env_references_are_expanded_after_parsing(profiles: Path) -> None:
    env = {"SIEM_HOST": "es.internal", "INDEX_SUFFIX": "win", "SIEM_KEY": "k: [not yaml"}
    profile = find_profile("siem", profiles_file=profiles, environ=env)
    assert profile.connection == {
        "host": "es.internal",
        "port": 9200,
        "indices": "logs-win",
        "note": "costs $5 and $ alone",
    }
    # A value that looks like YAML stays a string: expansion happens after parsing.
    assert profile.config == {"auth": {"id": "key-id", "api_key": "k: [not yaml"}}
    assert "k: [not yaml" not in repr(profile)


def test_unset_variable_names_profile_field_and_variable(profiles: Path) -> None:
    with pytest.raises(DataSourceError) as caught:
        find_profile("siem", profiles_file=profiles, environ={"SIEM_HOST": "h"})
    assert caught.value.message == (
        f"data source 'siem' ({profiles}:3): connection.indices refers to $INDEX_SUFFIX, "
        "which is not set"
    )
    assert (
        caught.value.hint == "export INDEX_SUFFIX=... before running, or write $$ for a literal $"
    )
    assert pickle.loads(pickle.dumps(caught.value)).message == caught.value.message


def test_only_the_requested_profile_is_expanded(profiles: Path) -> None:
    env = {"SIEM_HOST": "h", "INDEX_SUFFIX": "x", "SIEM_KEY": "k"}
    assert find_profile("siem", profiles_file=profiles, environ=env).connector == "elastic_ecs"
    with pytest.raises(DataSourceError, match=r"connection.host refers to \$NOT_SET_ANYWHERE"):
        find_profile("other", profiles_file=profiles, environ=env)


def test_expand_env_walks_lists() -> None:
    value = {"hosts": ["$A", "${A}-2"], "n": 3, "flag": True}
    assert expand_env(value, {"A": "x"}, where="w") == {"hosts": ["x", "x-2"], "n": 3, "flag": True}
    with pytest.raises(DataSourceError, match=r"^w: hosts\[1\] refers to \$B, which is not set\n"):
        expand_env({"hosts": ["a", "$B"]}, {}, where="w")


SECRET_PROFILE = Profile(
    "edr",
    "elastic_ecs",
    {"host": "es.internal", "port": 9200, "selfSignedCert": {"prefect_secret": "edr-cert"}},
    {"auth": {"id": "key-id", "api_key": "prefect-secret://edr-api-key"}},
)


def test_secret_references_are_found_and_loaded_once() -> None:
    assert secret_names(SECRET_PROFILE.connection) == ["edr-cert"]
    assert secret_names(SECRET_PROFILE.config) == ["edr-api-key"]
    loads: list[str] = []

    async def loader(name: str) -> Any:
        loads.append(name)
        return {"edr-cert": "-----BEGIN CERT-----", "edr-api-key": "api-key-value"}[name]

    resolved, secrets = asyncio.run(resolve_secrets(SECRET_PROFILE, loader))
    assert resolved.connection["selfSignedCert"] == "-----BEGIN CERT-----"
    assert resolved.config == {"auth": {"id": "key-id", "api_key": "api-key-value"}}
    assert sorted(secrets) == ["-----BEGIN CERT-----", "api-key-value"]
    assert loads == ["edr-cert", "edr-api-key"]
    assert "api-key-value" not in repr(resolved)
    assert SECRET_PROFILE.config["auth"]["api_key"] == "prefect-secret://edr-api-key"


def test_a_json_secret_can_supply_the_whole_config() -> None:
    profile = Profile("db", "mysql", {"host": "h"}, {"prefect_secret": "db-config"})

    async def loader(name: str) -> Any:
        return {"auth": {"username": "u", "password": "pw-from-block"}}

    resolved, secrets = asyncio.run(resolve_secrets(profile, loader))
    assert resolved.config == {"auth": {"username": "u", "password": "pw-from-block"}}
    assert "pw-from-block" in secrets

    async def scalar(name: str) -> Any:
        return "not a mapping"

    with pytest.raises(DataSourceError, match="config must be a mapping after loading"):
        asyncio.run(resolve_secrets(profile, scalar))


def test_missing_block_is_a_clear_error() -> None:
    async def loader(name: str) -> Any:
        raise ValueError(f"Unable to find block document named {name} for block type secret")

    with pytest.raises(DataSourceError) as caught:
        asyncio.run(resolve_secrets(SECRET_PROFILE, loader))
    assert caught.value.message == (
        "data source 'edr': cannot load Prefect Secret block 'edr-cert': ValueError: Unable to "
        "find block document named edr-cert for block type secret"
    )
    assert (
        caught.value.hint is not None and "Secret(value=...).save('edr-cert')" in caught.value.hint
    )


class _FailingTransmission:
    """Answers every call with an error that echoes the password it was given."""

    def __init__(self, connector: str, connection: dict, config: dict) -> None:
        self.password = config["auth"]["password"]

    def is_async(self) -> bool:
        return False

    async def query_async(self, query: Any) -> dict[str, Any]:
        return {"success": True, "search_id": query}

    async def results_async(self, *args: Any) -> dict[str, Any]:
        return {"success": False, "code": "unknown", "error": f"login {self.password} refused"}


def test_loaded_secrets_never_reach_error_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from huntline.fetch.sources import stixshifter

    monkeypatch.setattr(stixshifter, "StixTransmission", _FailingTransmission)
    profile = Profile(
        "db",
        "mysql",
        {"host": "h", "port": 3306, "database": "d", "options": {"table": "t"}},
        {"auth": {"username": "u", "password": {"prefect_secret": "db-pw"}}},
    )

    async def loader(name: str) -> str:
        return "pw-from-prefect"

    source = StixShifterSource(profile, secret_loader=loader)

    async def run() -> None:
        async for _ in source.pages("[process:name = 'x']", _window()):
            pass

    with pytest.raises(DataSourceError) as caught:
        asyncio.run(run())
    assert caught.value.message.endswith("results failed: login *** refused")
    assert "pw-from-prefect" not in repr(source)


def _window() -> Any:
    from datetime import UTC, datetime

    from huntline.fetch import Window

    return Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, tzinfo=UTC))
