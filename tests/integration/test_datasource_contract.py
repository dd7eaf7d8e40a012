"""The contract every kind of data source meets, run on each registered kind
(``fetch/sources/resolve.py``'s ``KINDS``) against a real source: a bundle on disk, one served
by an HTTP server on 127.0.0.1, and a stix-shifter profile of the MariaDB the suite starts.

A new kind fails ``test_every_registered_kind_is_in_the_contract`` until it is given an example
here, so it cannot skip the contract.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import DataSource, Window, resolve_source
from huntline.fetch.sources.resolve import KINDS, kind_of

JUNE_30 = Window(datetime(2020, 6, 30, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC))
ALL_IPS = "[ipv4-addr:value LIKE '%']"

#: Per scheme: how to name a real source of that kind with the suite's servers and data.
EXAMPLES: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "file": lambda r: f"file://{r.getfixturevalue('shared_data') / 'stix' / 'test_bundle.json'}",
    "http": lambda r: f"{r.getfixturevalue('bundle_server')}/test_bundle.json",
    "https": lambda r: "https://user:hunter2@bundles.invalid/test_bundle.json",
    "": lambda r: "hunt-db",
}
#: The schemes whose example is queried (https and profiles are resolved only: no TLS server,
#: and the MariaDB profile's queries are covered by test_fetch_mysql.py).
QUERIED = {"file", "http"}


def pages(source: DataSource, **kw: int) -> list[list[dict]]:
    async def collect() -> list[list[dict]]:
        return [page async for page in source.pages(ALL_IPS, JUNE_30, **kw)]

    return asyncio.run(collect())


def test_every_registered_kind_is_in_the_contract() -> None:
    assert set(KINDS) == set(EXAMPLES)


@pytest.fixture
def profiles_file(tmp_path: Path) -> Path:
    path = tmp_path / "stixshifter.yaml"
    path.write_text(
        "profiles:\n  hunt-db:\n    connector: mysql\n    connection: {host: 127.0.0.1,"
        " port: 3306, database: hunt, options: {table: events}}\n"
        "    config: {auth: {username: u, password: hunter2}}\n"
    )
    return path


@pytest.mark.server
@pytest.mark.parametrize("scheme", sorted(EXAMPLES))
def test_a_source_of_each_kind_meets_the_contract(
    scheme: str, request: pytest.FixtureRequest, profiles_file: Path
) -> None:
    text = EXAMPLES[scheme](request)
    assert kind_of(text) is KINDS[scheme]
    source = resolve_source(text, profiles_file=profiles_file)
    assert isinstance(source, DataSource)
    assert source.name and source.describe()
    assert "hunter2" not in source.describe() + source.name  # never a credential
    with pytest.raises(DataSourceError, match="page_size must be at least 1"):
        pages(source, page_size=0)
    if scheme not in QUERIED:
        return
    every = pages(source)
    assert [len(page) for page in every] == [100]  # the source's default page size
    assert all(obs["type"] == "observed-data" and obs["objects"] for obs in every[0])
    paged = pages(source, page_size=30, limit=45)
    assert [len(page) for page in paged] == [30, 15]
    assert [o["id"] for page in paged for o in page] == [o["id"] for o in every[0][:45]]
    outside = Window(datetime(2020, 6, 29, tzinfo=UTC), datetime(2020, 6, 30, tzinfo=UTC))
    assert asyncio.run(_count(source, outside)) == 0


async def _count(source: DataSource, window: Window) -> int:
    return sum([len(page) async for page in source.pages(ALL_IPS, window)])
