"""Retries, error classification, per-call and per-query timeouts, progress and result_limit.

The transmission is a scripted fake; translation is stix-shifter's real one (stix_bundle and
mysql need no server to translate).
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import Profile, StixShifterSource, Window
from huntline.fetch.sources import stixshifter as module
from huntline.fetch.sources.connectors import REREADING_PAGE_SIZE
from huntline.fetch.sources.retry import Problem, RetryPolicy, classify

WINDOW = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, tzinfo=UTC))
PATTERN = "[ipv4-addr:value = '10.0.0.1']"
FAST = RetryPolicy(attempts=3, base_delay=0.001, jitter=False)


@pytest.mark.parametrize(
    ("code", "message", "problem"),
    [
        # mysql 8.1.3 maps "Can't connect" (2003) to authentication_fail: the message wins.
        ("authentication_fail", "(2003, \"Can't connect to MySQL server on 'h'\")", "unreachable"),
        ("unknown", "(1045, \"Access denied for user 'u'@'h'\")", "bad credentials"),
        ("service_unavailable", "client_connector_error: Cannot connect to host h", "unreachable"),
        ("unknown", "(2013, 'Lost connection to MySQL server during query')", "unreachable"),
        ("unknown", "(1040, 'Too many connections')", "busy"),
        ("unknown", "HTTP 503 Service Unavailable", "busy"),
        ("too_many_requests", "slow down", "busy"),
        ("timeout", "no answer within 5 s", "timeout"),
        ("unknown", "401 Unauthorized", "bad credentials"),
        ("forbidden", "403", "forbidden"),
        ("invalid_query", "syntax error near WHERE", "query rejected"),
        ("translation_error", "{'missing_params': ['table']}", "invalid profile"),
        ("unknown", "(1146, \"Table 'hunt.nope' doesn't exist\")", "error"),
        ("unknown", "404 Not Found", "error"),
    ],
)  # fmt: skip
def test_classify(code: str, message: str, problem: str) -> None:
    assert classify(code, message) == problem


def test_only_unreachable_timeout_and_busy_are_transient() -> None:
    assert {p for p in Problem if p.transient} == {
        Problem.UNREACHABLE,
        Problem.TIMEOUT,
        Problem.BUSY,
    }


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, base_delay=1.0, factor=2.0, max_delay=5.0, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = RetryPolicy(base_delay=2.0)
    assert all(1.0 <= jittered.delay(1) <= 2.0 for _ in range(50))
    with pytest.raises(DataSourceError, match="at least 1"):
        RetryPolicy(attempts=0)


class Scripted:
    """A sync connector whose results calls answer from ``script`` in order, then succeed."""

    script: ClassVar[list[Any]] = []
    calls: ClassVar[list[tuple[Any, ...]]] = []
    rows = 3

    def __init__(self, connector: str, connection: dict, config: dict) -> None:
        self.connection = connection

    def is_async(self) -> bool:
        return False

    async def query_async(self, query: Any) -> dict[str, Any]:
        self.calls.append(("query", query))
        return {"success": True, "search_id": query}

    async def results_async(self, search_id: Any, offset: int, length: int, metadata=None) -> Any:
        self.calls.append(("results", offset, length))
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, float):
                await asyncio.sleep(step)
            elif isinstance(step, Exception):
                raise step
            else:
                return step
        data = [_row(n) for n in range(offset, min(offset + length, self.rows))]
        return {"success": True, "data": data}


def _row(n: int) -> dict[str, Any]:
    return {"source_ipaddr": f"10.0.0.{n + 1}", "entry_time": 1609459200000 + n}


def _mysql(name: str = "db", **options: Any) -> Profile:
    connection = {"host": "db.internal", "port": 3306, "database": "d"}
    connection["options"] = {"table": "events", **options}
    return Profile(name, "mysql", connection, {"auth": {"username": "u", "password": "pw-123"}})


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[Scripted]:
    monkeypatch.setattr(module, "StixTransmission", Scripted)
    Scripted.script, Scripted.calls, Scripted.rows = [], [], 3
    return Scripted


def fetch(source: StixShifterSource, **kw: Any) -> list[list[dict]]:
    async def collect() -> list[list[dict]]:
        return [page async for page in source.pages(PATTERN, WINDOW, **kw)]

    return asyncio.run(collect())


def test_transient_failures_are_retried_then_succeed(
    scripted: type[Scripted], caplog: pytest.LogCaptureFixture
) -> None:
    down = {"success": False, "code": "unknown", "error": '(2003, "Can\'t connect")'}
    scripted.script = [down, down]
    pages = fetch(StixShifterSource(_mysql(), retry=FAST))
    assert [len(page) for page in pages] == [3]
    asked = [c for c in scripted.calls if c[0] == "results"]
    assert asked == [("results", 0, REREADING_PAGE_SIZE)] * 3
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert retries == [
        'db: results failed (unreachable: (2003, "Can\'t connect")); retry 1 of 2 in 0.0 s',
        'db: results failed (unreachable: (2003, "Can\'t connect")); retry 2 of 2 in 0.0 s',
    ]


def test_permanent_failure_is_not_retried(scripted: type[Scripted]) -> None:
    scripted.script = [
        {"success": False, "code": "unknown", "error": "(1045, 'Access denied pw-123')"}
    ]
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(_mysql(), retry=FAST))
    error = caught.value
    assert error.message == (
        "data source 'db' (mysql db.internal:3306): results failed: (1045, 'Access denied ***')"
    )
    assert (error.context["problem"], error.context["attempts"]) == ("bad credentials", 1)
    assert len([c for c in scripted.calls if c[0] == "results"]) == 1
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.hint, copy.context) == (error.message, error.hint, error.context)


def test_a_hung_call_times_out_and_is_retried(scripted: type[Scripted]) -> None:
    scripted.script = [5.0, 5.0, 5.0]
    source = StixShifterSource(_mysql(), retry=FAST, call_timeout=0.05)
    with pytest.raises(DataSourceError) as caught:
        fetch(source)
    assert caught.value.message == (
        "data source 'db' (mysql db.internal:3306): results failed (after 3 attempts): "
        "no answer within 0.05 s"
    )
    assert caught.value.context["problem"] == "timeout"


def test_an_exception_in_the_connector_becomes_a_data_source_error(
    scripted: type[Scripted],
) -> None:
    scripted.script = [RuntimeError("boom with pw-123")]
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(_mysql(), retry=FAST))
    assert caught.value.message.endswith("results failed: boom with ***")


def test_limit_becomes_result_limit_and_a_cut_result_is_logged(
    scripted: type[Scripted], caplog: pytest.LogCaptureFixture
) -> None:
    fetch(StixShifterSource(_mysql()), limit=2)
    (query,) = [c[1] for c in scripted.calls if c[0] == "query"]
    assert query.endswith(" limit 2")
    assert not [r for r in caplog.records if "probably cut" in r.getMessage()]

    scripted.calls.clear()
    scripted.rows = 4
    pages = fetch(StixShifterSource(_mysql(result_limit=4)), page_size=10)
    assert [len(page) for page in pages] == [4]
    (query,) = [c[1] for c in scripted.calls if c[0] == "query"]
    assert query.endswith(" limit 4")  # the profile's own result_limit is kept
    (warning,) = [r.getMessage() for r in caplog.records if "probably cut" in r.getMessage()]
    assert warning.startswith("db: the query returned exactly result_limit=4 results")


class AsyncScripted:
    """An async connector whose status climbs 0 -> 50 -> 100, or never completes."""

    calls: ClassVar[list[tuple[Any, ...]]] = []
    statuses: ClassVar[list[dict[str, Any]]] = []
    delete_fails = False

    def __init__(self, connector: str, connection: dict, config: dict) -> None:
        pass

    def is_async(self) -> bool:
        return True

    async def query_async(self, query: Any) -> dict[str, Any]:
        return {"success": True, "search_id": "s1"}

    async def status_async(self, search_id: Any, metadata: Any = None) -> dict[str, Any]:
        self.calls.append(("status",))
        if len(self.statuses) > 1:
            return self.statuses.pop(0)
        return self.statuses[0]

    async def results_async(self, *args: Any) -> dict[str, Any]:
        return {"success": True, "data": []}

    async def delete_async(self, search_id: Any) -> dict[str, Any]:
        self.calls.append(("delete",))
        if self.delete_fails:
            return {"success": False, "code": "unknown", "error": "search gone"}
        return {"success": True}


@pytest.fixture
def async_scripted(monkeypatch: pytest.MonkeyPatch) -> type[AsyncScripted]:
    monkeypatch.setattr(module, "StixTransmission", AsyncScripted)
    AsyncScripted.calls, AsyncScripted.delete_fails = [], False
    return AsyncScripted


def _bundle_source(**kw: Any) -> StixShifterSource:
    return StixShifterSource(Profile("siem", "stix_bundle", {"url": "http://h/b"}, {}), **kw)


def test_async_search_progress_is_logged(
    async_scripted: type[AsyncScripted], caplog: pytest.LogCaptureFixture
) -> None:
    async_scripted.statuses = [
        {"success": True, "status": "RUNNING", "progress": 0},
        {"success": True, "status": "RUNNING", "progress": 50},
        {"success": True, "status": "RUNNING", "progress": 50},
        {"success": True, "status": "COMPLETED", "progress": 100},
    ]
    caplog.set_level(logging.INFO, logger="huntline.fetch.sources.stixshifter")
    assert fetch(_bundle_source(poll_interval=0.001)) == []
    progress = [r.getMessage() for r in caplog.records if "% done" in r.getMessage()]
    assert progress == [
        "siem: search running, 0% done",
        "siem: search running, 50% done",
        "siem: search completed, 100% done",
    ]
    assert async_scripted.calls[-1] == ("delete",)


def test_async_search_stops_at_the_query_timeout(async_scripted: type[AsyncScripted]) -> None:
    async_scripted.statuses = [{"success": True, "status": "RUNNING", "progress": 10}]
    async_scripted.delete_fails = True  # must not hide the timeout
    with pytest.raises(DataSourceError) as caught:
        fetch(_bundle_source(poll_interval=0.01, timeout=0.05))
    assert caught.value.message == (
        "data source 'siem' (stix_bundle http://h/b): search did not complete within 0.05 s "
        "(last status RUNNING, 10% done)"
    )
    assert caught.value.context["problem"] == "timeout"
    assert async_scripted.calls[-1] == ("delete",)


def test_failed_search_reports_the_connectors_message(
    async_scripted: type[AsyncScripted],
) -> None:
    async_scripted.statuses = [{"success": True, "status": "ERROR", "error": "index missing"}]
    with pytest.raises(DataSourceError, match=r"search \(error\) failed: index missing$"):
        fetch(_bundle_source(poll_interval=0.001))


def test_object_addresses_are_dropped_from_connector_messages(scripted: type[Scripted]) -> None:
    """aiohttp's 'Cannot connect' names the SSL context by its repr: the address changes on
    every run, so the same failure would read differently each time."""
    scripted.script = [
        {
            "success": False,
            "code": "client_connector_error",
            "error": "Cannot connect to host db.internal:3306 "
            "ssl:<ssl.SSLContext object at 0x7ff0e7e7a960> [Connect call failed]",
        }
    ] * 4
    with pytest.raises(DataSourceError) as caught:
        fetch(StixShifterSource(_mysql(), retry=FAST))
    assert caught.value.message.endswith(
        "results failed (after 3 attempts): Cannot connect to host db.internal:3306 "
        "ssl:<ssl.SSLContext> [Connect call failed]"
    )
