"""Fetch through stix-shifter's real ``mysql`` connector from a private MariaDB server.

The server and its rows come from ``mariadb`` in tests/integration/conftest.py; expectations
are computed from the same generated rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import Profile, StixShifterSource, Window, flatten, resolve_source
from huntline.fetch.sources import stixshifter as stixshifter_module
from huntline.fetch.sources.diagnose import check_source
from huntline.fetch.sources.multi import fetch_sources
from huntline.fetch.sources.retry import RetryPolicy

# The window the generated rows are laid around (tests/integration/conftest.py).
MYSQL_WINDOW_START = datetime(2021, 3, 1, tzinfo=UTC)
MYSQL_WINDOW_STOP = datetime(2021, 3, 2, tzinfo=UTC)
WINDOW = Window(MYSQL_WINDOW_START, MYSQL_WINDOW_STOP)
CMD = "[process:name = 'cmd.exe']"
ANY_PROCESS = "[process:pid > 0]"
FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01)

# stix-shifter's mysql connector leaves its aiomysql pool open when a query fails, and the
# pool's connections complain from __del__ once the test's event loop is closed.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def in_window(rows: list[dict[str, Any]], window: Window = WINDOW) -> list[dict[str, Any]]:
    start, stop = epoch_ms(window.start), epoch_ms(window.stop)
    return [row for row in rows if start <= row["entry_time"] < stop]


def source_for(db: Any, password: str | None = None, **options: Any) -> StixShifterSource:
    profile = Profile("mysql-lab", "mysql", db.connection(**options), db.config(password))
    return StixShifterSource(profile, retry=FAST_RETRY)


def fetch(source: Any, pattern: str, window: Window = WINDOW, **kw: Any) -> list[list[dict]]:
    async def collect() -> list[list[dict]]:
        return [page async for page in source.pages(pattern, window, **kw)]

    return asyncio.run(collect())


class Spy(stixshifter_module.StixTransmission):  # type: ignore[misc]
    """The real transmission, recording the native queries and the pages asked for."""

    calls: ClassVar[list[tuple[Any, ...]]] = []

    async def query_async(self, query: Any) -> Any:
        self.calls.append(("query", query))
        return await super().query_async(query)

    async def results_async(self, search_id: Any, offset: int, length: int, metadata=None) -> Any:
        self.calls.append(("results", offset, length))
        return await super().results_async(search_id, offset, length, metadata)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[Spy]:
    Spy.calls = []
    monkeypatch.setattr(stixshifter_module, "StixTransmission", Spy)
    return Spy


@pytest.mark.server
def test_pages_through_the_connector(mariadb: Any, spy: type[Spy]) -> None:
    assert (mariadb.window_start, mariadb.window_stop) == (MYSQL_WINDOW_START, MYSQL_WINDOW_STOP)
    expected = [row for row in in_window(mariadb.rows) if row["process_name"] == "cmd.exe"]
    assert len(expected) == 10
    pages = fetch(source_for(mariadb), CMD, page_size=4)
    assert [len(page) for page in pages] == [4, 4, 2]
    # mysql pages by offset and re-runs the query for every page; the short page ends it.
    assert [call for call in spy.calls if call[0] == "results"] == [
        ("results", 0, 4),
        ("results", 4, 4),
        ("results", 8, 4),
    ]
    table = flatten([obs for page in pages for obs in page], "process")
    assert sorted(table["pid"]) == sorted(row["process_id"] for row in expected)
    assert set(table["name"]) == {"cmd.exe"}
    assert set(table["binary_ref.name"]) == {"cmd.exe"}
    observed = pd_timestamps(table["first_observed"])
    assert all(MYSQL_WINDOW_START <= moment < MYSQL_WINDOW_STOP for moment in observed)


@pytest.mark.server
def test_many_pages_from_mysql_suggest_a_larger_page_size(
    mariadb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="huntline.fetch.sources.stixshifter"):
        pages = fetch(source_for(mariadb), CMD, page_size=2)
    assert [len(page) for page in pages] == [2] * 5
    warnings = [r.getMessage() for r in caplog.records if "every page" in r.getMessage()]
    assert warnings == [
        "mysql-lab: the mysql connector reads the whole result again for every page "
        "(5 pages of 2 so far); a page_size near the expected number of results makes this "
        "fetch faster"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="huntline.fetch.sources.stixshifter"):
        fetch(source_for(mariadb), CMD, page_size=4)
    assert not [r for r in caplog.records if "every page" in r.getMessage()]


def pd_timestamps(values: Any) -> list[datetime]:
    return [datetime.fromisoformat(str(v).replace("Z", "+00:00")) for v in values]


@pytest.mark.server
def test_window_becomes_start_stop_in_the_query(mariadb: Any, spy: type[Spy]) -> None:
    observed = [obs for page in fetch(source_for(mariadb), ANY_PROCESS) for obs in page]
    assert len(observed) == len(in_window(mariadb.rows)) == 40  # 24 rows lie outside
    (query,) = [call[1] for call in spy.calls if call[0] == "query"]
    start, stop = epoch_ms(MYSQL_WINDOW_START), epoch_ms(MYSQL_WINDOW_STOP)
    assert f"(entry_time >= {start} AND entry_time <= {stop})" in query

    day_before = Window(MYSQL_WINDOW_START - timedelta(days=1), MYSQL_WINDOW_START)
    before = [obs for page in fetch(source_for(mariadb), ANY_PROCESS, day_before) for obs in page]
    assert len(before) == len(in_window(mariadb.rows, day_before)) == 12
    empty = Window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
    assert fetch(source_for(mariadb), ANY_PROCESS, empty) == []


@pytest.mark.server
def test_limit_caps_pages_and_the_native_query(mariadb: Any, spy: type[Spy]) -> None:
    assert [len(p) for p in fetch(source_for(mariadb), ANY_PROCESS, limit=5, page_size=3)] == [
        3,
        2,
    ]
    (query,) = [call[1] for call in spy.calls if call[0] == "query"]
    assert query.endswith(" limit 5")  # the step's limit became the connector's result_limit
    assert [call for call in spy.calls if call[0] == "results"] == [
        ("results", 0, 3),
        ("results", 3, 2),
    ]


@pytest.mark.server
def test_wrong_password_is_a_clear_error_without_the_password(mariadb: Any) -> None:
    source = source_for(mariadb, password="Wr0ng-pa55word")
    with pytest.raises(DataSourceError) as caught:
        fetch(source, CMD)
    error = caught.value
    prefix = (
        f"data source 'mysql-lab' (mysql 127.0.0.1:{mariadb.port}): results failed: "
        "mysql connector error => (1045, \"Access denied for user '***'@"
    )
    assert error.message.startswith(prefix), error.message
    assert "(using password: YES)" in error.message
    assert "Wr0ng-pa55word" not in str(error) and mariadb.password not in str(error)
    assert error.context["problem"] == "bad credentials"
    assert error.context["attempts"] == 1  # permanent: not retried
    assert error.hint == "check the credentials in the profile's config"


@pytest.mark.server
def test_unreachable_port_is_retried_then_explained(mariadb: Any, unused_port: int) -> None:
    port = unused_port
    profile = Profile(
        "mysql-down",
        "mysql",
        {**mariadb.connection(), "port": port},
        mariadb.config(),
    )
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(profile, retry=FAST_RETRY), CMD)
    error = caught.value
    assert error.message == (
        f"data source 'mysql-down' (mysql 127.0.0.1:{port}): results failed (after 2 attempts): "
        "mysql connector error => (2003, \"Can't connect to MySQL server on '127.0.0.1'\"); "
        "(2003, \"Can't connect to MySQL server on '127.0.0.1'\")"
    )
    assert error.context["problem"] == "unreachable"
    assert error.hint == "check that the data source is running and reachable from this host"


@pytest.mark.server
def test_missing_table_fails_at_once_in_the_connectors_words(mariadb: Any) -> None:
    connection = {**mariadb.connection(), "options": {"table": "nope"}}
    profile = Profile("mysql-lab", "mysql", connection, mariadb.config())
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(profile, retry=FAST_RETRY), CMD)
    assert "(1146, \"Table 'hunt.nope' doesn't exist\")" in caught.value.message
    assert caught.value.context["attempts"] == 1


def test_wrong_connector_name_lists_the_installed_ones(mariadb: Any) -> None:
    profile = Profile("lab", "mysq", mariadb.connection(), mariadb.config())
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(profile), CMD)
    assert caught.value.message == (
        "data source 'lab': unknown stix-shifter connector 'mysq'; "
        "installed connectors: elastic_ecs, mysql, stix_bundle"
    )
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean 'mysql'?")


def test_connector_module_not_installed(mariadb: Any) -> None:
    profile = Profile("siem", "splunk", {"host": "splunk.internal", "port": 8089}, {})
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(profile), CMD)
    assert caught.value.message == (
        "data source 'siem': stix-shifter connector module 'splunk' is not installed; "
        "installed connectors: elastic_ecs, mysql, stix_bundle"
    )
    assert caught.value.hint == "pip install stix-shifter-modules-splunk==8.1.3"


@pytest.mark.server
def test_profile_file_with_env_and_prefect_secret(
    mariadb: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "stixshifter.yaml"
    profiles.write_text(
        "profiles:\n"
        "  lab:\n"
        "    connector: mysql\n"
        "    connection:\n"
        "      host: ${HUNT_DB_HOST}\n"
        f"      port: {mariadb.port}\n"
        f"      database: {mariadb.database}\n"
        f"      options: {{table: {mariadb.table}}}\n"
        "    config:\n"
        "      auth:\n"
        "        username: $HUNT_DB_USER\n"
        "        password: prefect-secret://hunt-db-password\n"
    )
    monkeypatch.setenv("HUNT_DB_HOST", "127.0.0.1")
    monkeypatch.setenv("HUNT_DB_USER", mariadb.user)
    loaded: list[str] = []

    async def loader(name: str) -> str:  # stands in for Secret.aload(name).get()
        loaded.append(name)
        return mariadb.password

    source = resolve_source("lab", profiles_file=profiles)
    assert isinstance(source, StixShifterSource)
    assert source.describe() == f"mysql 127.0.0.1:{mariadb.port}"
    source.secret_loader = loader
    pages = fetch(source, CMD)
    assert sum(len(page) for page in pages) == 10
    assert loaded == ["hunt-db-password"]
    assert mariadb.password not in repr(source)


@pytest.mark.server
def test_mysql_and_file_bundle_concurrently_with_x_datasource(
    mariadb: Any, repo_root: Path
) -> None:
    bundle = repo_root / "tests" / "files" / "fetch" / "processes.json"
    window = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 6, 1, tzinfo=UTC))
    sources = [source_for(mariadb), resolve_source(f"file://{bundle}")]

    async def collect() -> list[Any]:
        return [p async for p in fetch_sources(sources, ANY_PROCESS, window, page_size=7)]

    by_source: dict[str, int] = {}
    for page in asyncio.run(collect()):
        assert {obs["x_datasource"] for obs in page.observed} == {page.source}
        by_source[page.source] = by_source.get(page.source, 0) + len(page.observed)
    assert by_source["mysql-lab"] == len(mariadb.rows) == 64  # the window holds every row
    assert by_source[f"file://{bundle}"] > 0


@pytest.mark.server
def test_check_source_reports_each_step(mariadb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for part, value in (
        ("CONNECTOR", "mysql"),
        ("CONNECTION", json.dumps(mariadb.connection())),
        ("CONFIG", json.dumps(mariadb.config())),
    ):
        monkeypatch.setenv(f"STIXSHIFTER_LAB_{part}", value)
    report = asyncio.run(check_source("lab", window=WINDOW, pattern=CMD))
    assert [(step.name, step.ok) for step in report.steps] == [
        ("profile", True),
        ("connector", True),
        ("secrets", True),
        ("ping", True),
        ("query", True),
    ]
    assert report.ok and report.diagnosis == "ok"
    assert report.steps[-1].detail.endswith(": 1 result(s)")

    monkeypatch.setenv("STIXSHIFTER_LAB_CONFIG", json.dumps(mariadb.config("Wr0ng-pa55word")))
    report = asyncio.run(check_source("lab", window=WINDOW, pattern=CMD))
    assert [(step.name, step.ok) for step in report.steps][-1] == ("ping", False)
    assert report.diagnosis == "bad credentials"
    assert report.lines()[-1] == "  hint: check the credentials in the profile's config"
    assert "Wr0ng-pa55word" not in "\n".join(report.lines())


@pytest.mark.server
def test_password_from_a_real_prefect_secret_block(mariadb: Any, prefect_server: Any) -> None:
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL, temporary_settings

    config = {"auth": {"username": mariadb.user, "password": {"prefect_secret": "hunt-db-pw"}}}
    source = StixShifterSource(Profile("vault-lab", "mysql", mariadb.connection(), config))
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        Secret(value=mariadb.password).save("hunt-db-pw", overwrite=True)
        assert sum(len(page) for page in fetch(source, CMD)) == 10
        Secret(value="Wr0ng-pa55word").save("hunt-db-pw", overwrite=True)  # rotated, wrongly
        with pytest.raises(DataSourceError) as caught:
            fetch(source, CMD)
    assert caught.value.context["problem"] == "bad credentials"
    assert "Wr0ng-pa55word" not in str(caught.value)
