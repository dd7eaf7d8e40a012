"""Profiles are found the way Kestrel finds them, and never leak their secrets."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import StixShifterSource, find_profile, known_profiles, resolve_source

PROFILES = Path(__file__).resolve().parents[2] / "files" / "fetch" / "stixshifter.yaml"


def test_profile_from_file() -> None:
    profile = find_profile("ES", profiles_file=PROFILES, environ={})
    assert profile.connector == "elastic_ecs"
    assert profile.connection == {"host": "es.internal", "port": 9200, "indices": "logs-*"}
    assert profile.config == {"auth": {"id": "key-id", "api_key": "key-secret"}}
    assert "key-secret" not in repr(profile)


def test_environment_wins_over_file() -> None:
    env = {
        "STIXSHIFTER_ES_CONNECTOR": "elastic_ecs",
        "STIXSHIFTER_ES_CONNECTION": '{"host": "other", "port": 9201}',
        "STIXSHIFTER_ES_CONFIG": '{"auth": {"api_key": "k"}}',
    }
    profile = find_profile("es", profiles_file=PROFILES, environ=env)
    assert profile.connection["host"] == "other"
    assert profile.origin == "environment STIXSHIFTER_ES_*"


def test_file_from_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTLINE_STIXSHIFTER_CONFIG", str(PROFILES))
    assert find_profile("bundle").connector == "stix_bundle"
    assert {"bundle", "es"} <= set(known_profiles())


def test_unknown_profile_lists_the_known_ones() -> None:
    env = {"STIXSHIFTER_HOST101_CONNECTOR": "elastic_ecs"}
    with pytest.raises(DataSourceError) as caught:
        find_profile("nope", profiles_file=PROFILES, environ=env)
    assert caught.value.message == (
        f"unknown data source 'nope': no such stix-shifter profile in the environment and "
        f"{PROFILES}; known profiles: bundle, es, host101"
    )
    assert caught.value.hint is not None and "STIXSHIFTER_NOPE_CONNECTOR" in caught.value.hint
    assert pickle.loads(pickle.dumps(caught.value)).message == caught.value.message


def test_partial_and_invalid_environment_profiles() -> None:
    with pytest.raises(DataSourceError) as caught:
        find_profile("x", environ={"STIXSHIFTER_X_CONNECTOR": "mysql"})
    assert caught.value.message == (
        "data source 'x' is only partly set in the environment: "
        "STIXSHIFTER_X_CONNECTION, STIXSHIFTER_X_CONFIG missing"
    )
    env = {
        "STIXSHIFTER_X_CONNECTOR": "mysql",
        "STIXSHIFTER_X_CONNECTION": "{}",
        "STIXSHIFTER_X_CONFIG": '{"auth": {"password": "hunter2"',
    }
    with pytest.raises(DataSourceError) as caught:
        find_profile("x", environ=env)
    assert "hunter2" not in str(caught.value)
    assert caught.value.message.startswith(
        "data source 'x': STIXSHIFTER_X_CONFIG is not valid JSON"
    )


def test_malformed_profiles_file(tmp_path: Path) -> None:
    bad = tmp_path / "stixshifter.yaml"
    bad.write_text("profiles:\n  a: [1,\n")
    with pytest.raises(DataSourceError) as caught:
        find_profile("a", profiles_file=bad, environ={})
    assert str(caught.value) == (
        f"{bad} is not valid YAML\n  {bad}:3 did not find expected node content"
    )
    bad.write_text("profiles:\n  a: {connector: mysql}\n  a: {connector: elastic_ecs}\n")
    with pytest.raises(DataSourceError) as caught:
        find_profile("a", profiles_file=bad, environ={})
    assert str(caught.value) == (
        f"{bad}: invalid profiles file\n  {bad}:3 profiles.a: duplicate key 'a'"
    )
    bad.write_text("profiles:\n  a: {connector: mysql, connection: {}, config: {}, extra: 1}\n")
    with pytest.raises(DataSourceError, match="unknown keys extra"):
        find_profile("a", profiles_file=bad, environ={})
    bad.write_text("other: 1\n")
    with pytest.raises(DataSourceError, match="has no 'profiles' mapping"):
        find_profile("a", profiles_file=bad, environ={})


def test_resolve_kinds(tmp_path: Path) -> None:
    source = resolve_source("file://relative/b.json")
    assert source.describe() == "stix bundle file relative/b.json"
    url = resolve_source("https://user:pw@example.org/b.json")
    assert isinstance(url, StixShifterSource)
    assert url.describe() == "stix_bundle https://example.org/b.json"
    assert "pw" not in url.name
    named = resolve_source("es", profiles_file=PROFILES)
    assert named.describe() == "elastic_ecs es.internal:9200"
    with pytest.raises(DataSourceError, match="unsupported data source scheme in 'ftp://h/x'"):
        resolve_source("ftp://h/x")


def test_describe_never_shows_credentials() -> None:
    source = resolve_source("bundle", profiles_file=PROFILES)
    assert source.describe() == "stix_bundle http://127.0.0.1:9/bundle.json"
    assert "s3cret" not in repr(source)
