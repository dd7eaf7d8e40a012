"""``datasources list`` and ``datasources check``: each failure gets its own diagnosis.

The ping/query path against a real server is in tests/integration/test_fetch_mysql.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from huntline.fetch.sources import stixshifter
from huntline.fetch.sources.diagnose import SourceInfo, check_source, list_sources

FILES = Path(__file__).resolve().parents[2] / "files" / "fetch"
PROFILES = """\
profiles:
  edr:
    connector: elastic_ecs
    connection: {host: es.internal, port: 9200, indices: logs-*}
    config: {auth: {id: i, api_key: prefect-secret://edr-key}}
  typo:
    connector: mysq
    connection: {host: db, port: 3306}
    config: {}
  splunk:
    connector: splunk
    connection: {host: splunk.internal, port: 8089}
    config: {}
  needs-env:
    connector: mysql
    connection: {host: $DB_HOST_NOT_SET}
    config: {}
"""


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    path = tmp_path / "stixshifter.yaml"
    path.write_text(PROFILES)
    return path


def test_list_sources(profiles: Path) -> None:
    env = {
        "STIXSHIFTER_LAB_CONNECTOR": "stix_bundle",
        "STIXSHIFTER_LAB_CONNECTION": '{"url": "http://u:pw@h/b.json"}',
        "STIXSHIFTER_LAB_CONFIG": "{}",
    }
    infos = {info.name: info for info in list_sources(profiles_file=profiles, environ=env)}
    assert list(infos) == ["edr", "lab", "needs-env", "splunk", "typo"]
    assert infos["edr"] == SourceInfo(
        "edr", "elastic_ecs", str(profiles), "elastic_ecs es.internal:9200", installed=True
    )
    assert infos["lab"].origin == "environment STIXSHIFTER_LAB_*"
    assert infos["lab"].where == "stix_bundle http://h/b.json"
    assert infos["splunk"].installed is False
    assert infos["splunk"].problem is not None and "is not installed" in infos["splunk"].problem
    assert (
        infos["typo"].problem is not None
        and "unknown stix-shifter connector" in infos["typo"].problem
    )
    assert infos["needs-env"].problem == (
        f"data source 'needs-env' ({profiles}:15): connection.host refers to $DB_HOST_NOT_SET, "
        "which is not set"
    )


def check(name: str, profiles: Path, **kw: Any) -> Any:
    return asyncio.run(check_source(name, profiles_file=profiles, **kw))


def test_unknown_profile(profiles: Path) -> None:
    report = check("nope", profiles)
    assert [(s.name, s.ok, s.problem) for s in report.steps] == [
        ("profile", False, "unknown profile")
    ]
    assert report.diagnosis == "unknown profile" and not report.ok


def test_wrong_connector_name_and_module_not_installed(profiles: Path) -> None:
    typo = check("typo", profiles)
    assert [(s.name, s.ok) for s in typo.steps] == [("profile", True), ("connector", False)]
    assert typo.diagnosis == "wrong connector name"
    assert typo.lines() == [
        "typo: mysq db:3306",
        f"  ok   profile    ok ({typo.steps[0].seconds:.2f} s)",
        "  FAIL connector  data source 'typo': unknown stix-shifter connector 'mysq'; installed "
        f"connectors: elastic_ecs, mysql, stix_bundle ({typo.steps[1].seconds:.2f} s)",
        "  diagnosis: wrong connector name",
        "  hint: did you mean 'mysql'? fix the profile's connector, or install the module that "
        "provides it",
    ]
    assert check("splunk", profiles).diagnosis == "module not installed"


def test_secret_that_cannot_be_loaded(profiles: Path) -> None:
    async def loader(name: str) -> Any:
        raise ValueError(f"Unable to find block document named {name}")

    report = check("edr", profiles, secret_loader=loader)
    assert [(s.name, s.ok) for s in report.steps][-1] == ("secrets", False)
    assert report.diagnosis == "secret not loaded"
    assert "'edr-key'" in report.steps[-1].detail


class _Unreachable:
    def __init__(self, *args: Any) -> None:
        pass

    async def ping_async(self) -> dict[str, Any]:
        return {
            "success": False,
            "code": "service_unavailable",
            "error": "elastic_ecs connector error => Cannot connect to host es.internal:9200",
        }


def test_unreachable_source_fails_at_ping_without_retrying(
    profiles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stixshifter, "StixTransmission", _Unreachable)

    async def loader(name: str) -> str:
        return "the-api-key"

    report = check("edr", profiles, secret_loader=loader)
    assert [(s.name, s.ok) for s in report.steps] == [
        ("profile", True),
        ("connector", True),
        ("secrets", True),
        ("ping", False),
    ]
    assert report.steps[2].detail == "1 Prefect Secret block(s) loaded"
    assert report.diagnosis == "unreachable"
    assert report.steps[-1].detail == (
        "data source 'edr' (elastic_ecs es.internal:9200): ping failed: elastic_ecs connector "
        "error => Cannot connect to host es.internal:9200"
    )
    assert "the-api-key" not in "\n".join(report.lines())


def test_file_bundle_source_runs_the_query_step(profiles: Path) -> None:
    report = check(f"file://{FILES / 'processes.json'}", profiles, pattern="[process:pid > 0]")
    assert [(s.name, s.ok) for s in report.steps] == [("profile", True), ("query", True)]
    assert report.ok
    missing = check(f"file://{FILES / 'missing.json'}", profiles)
    assert [(s.name, s.ok) for s in missing.steps][-1] == ("query", False)
