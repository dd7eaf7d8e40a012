"""The C collector's tables (``collect.page_occurrences``) are the reference's
(``rules.occurrence_tables``), and without the C collector the reference runs.

Both run on the same pages, each with its own :class:`IdCache` carried across pages (as an
``EntitySpool`` does), and every type's table must be ``equals`` (schema, column order, types
and values, ids included). The reference is the live ``occurrence_tables``, so any change to
the rules there shows up here as a difference. A page the C collector hands back goes to the
reference, so each comparison also counts the pages C took: a test whose pages were all handed
back would compare the reference with itself.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest
import stixgen

from huntline.errors import FetchError
from huntline.fetch.base import ObservedData
from huntline.fetch.sources.bundle import read_observed_data
from huntline.fetch.stix import collect
from huntline.fetch.stix import native as occnative
from huntline.fetch.stix.collect import page_occurrences
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.rules import occurrence_tables

REPO = Path(__file__).resolve().parents[3]
BUNDLES = [
    "log4shell_bundle.json",
    "powershell_search_stix_result.json",
    "test_bundle.json",
    "test_bundle_2.json",
    "test_bundle_nt_1.json",
]


class Counted:
    """The C collector, counting the pages it takes and the ones it hands back."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.taken = self.handed_back = 0

    def collect(self, observed: list[ObservedData], ids: IdCache) -> Any:
        parts = self.module.collect(observed, ids)
        if parts is None:
            self.handed_back += 1
        else:
            self.taken += 1
        return parts

    def column(self, values: list[Any], rows: bytearray | None, count: int) -> Any:
        return self.module.column(values, rows, count)


@pytest.fixture
def counted(c_collector: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Counted:
    """The C collector in ``collect``, counting pages."""
    wrapper = Counted(c_collector)
    monkeypatch.setattr(collect, "native", wrapper)
    return wrapper


def assert_equivalent(
    observed: list[dict[str, Any]], page: int, *, size: int = 200_000, plans: int = 20_000
) -> None:
    """Page by page, with caches carried over, ``page_occurrences`` gives the reference's
    tables."""
    ours, theirs = IdCache(size, plans), IdCache(size, plans)
    for start in range(0, max(len(observed), 1), page):
        chunk = observed[start : start + page]
        before = copy.deepcopy(chunk)
        expected = occurrence_tables(chunk, theirs)
        got = page_occurrences(chunk, ours)
        assert chunk == before, "the page was modified"
        assert_same_tables(got, expected, start)


def assert_same_tables(got: dict[str, pa.Table], expected: dict[str, pa.Table], at: Any) -> None:
    assert list(got) == list(expected), at
    for sco_type, table in expected.items():
        other = got[sco_type]
        assert other.schema == table.schema, (at, sco_type, other.schema, table.schema)
        assert other.equals(table), (at, sco_type)


@pytest.mark.parametrize("bundle", BUNDLES)
@pytest.mark.parametrize("page", [1000, 7])
def test_shared_bundles(bundle: str, page: int, shared_data: Path, counted: Counted) -> None:
    assert_equivalent(read_observed_data(shared_data / "stix" / bundle), page)
    assert counted.taken and not counted.handed_back


@pytest.mark.parametrize("page", [1000, 3])
def test_sample_endpoint_bundle(page: int, counted: Counted) -> None:
    observed = read_observed_data(REPO / "hunts" / "data" / "sample_endpoint_bundle.json")
    assert_equivalent(observed, page)
    assert counted.taken and not counted.handed_back


@pytest.mark.parametrize(
    ("seed", "count", "page"),
    [(1, 3000, 1000), (2, 1500, 333), (3, 800, 50), (4, 400, 1), (5, 2000, 2000)],
)
def test_generated_bundles(seed: int, count: int, page: int, counted: Counted) -> None:
    """Generated pages (awkward shapes included) are flattened in C, not handed back."""
    observed = list(stixgen.observations(count, seed=seed, match_fraction=0.1))
    assert_equivalent(observed, page)
    assert counted.taken and not counted.handed_back


@pytest.mark.parametrize(
    "lasts",
    [
        ["2024-01-01T00:00:05Z", 5, None],  # an observation without SCOs holds an int
        [None, "2024-01-01T00:00:05Z", None],  # the ones with SCOs have none: the null type
        [1.5, 2, None],  # not text: picked value by value
    ],
)
def test_observation_columns_are_typed_by_the_occurrences(
    lasts: list[Any], counted: Counted
) -> None:
    """first/last_observed are typed from the observations that hold occurrences."""
    process = {"0": {"type": "process", "pid": 7, "name": "a"}}
    observed = [
        _obs(process, last=lasts[0]),
        _obs({}, last=lasts[1]),
        _obs(process, number=2, last=lasts[2]),
    ]
    assert_equivalent(observed, 3)
    assert counted.taken == 1


def test_small_caches_evict_the_same_way(counted: Counted) -> None:
    """Caches cleared mid-page (tiny bounds) change nothing."""
    observed = list(stixgen.observations(1200, seed=6, match_fraction=0.3))
    assert_equivalent(observed, 250, size=50, plans=30)
    assert counted.taken == 5


def _obs(objects: dict[str, Any], number: Any = 1, last: Any = "2024-01-01T00:00:05Z") -> Any:
    return {
        "type": "observed-data",
        "id": f"observed-data--{len(objects)}-{number}",
        "first_observed": "2024-01-01T00:00:00Z",
        "last_observed": last,
        "number_observed": number,
        "objects": objects,
    }


AWKWARD = [
    # the same address twice, dangling, self and non-SCO references, a ref list as a string
    _obs(
        {
            "0": {"type": "ipv4-addr", "value": "10.0.0.1", "resolves_to_refs": ["0", "9", "2"]},
            "1": {"type": "ipv4-addr", "value": "10.0.0.1"},
            "2": {"type": "mac-addr", "value": "aa:bb"},
            "3": {"type": "network-traffic", "src_ref": "0", "dst_ref": "6", "protocols": ["tcp"]},
            "4": {
                "type": "x-oca-event",
                "process_ref": "5",
                "network_ref": "7",
                "host_ref": "8",
                "ip_refs": "1",
            },
            "5": {"type": "process", "pid": 4, "name": "a/b", "parent_ref": "5"},
            "6": "not an object",
            "7": {"value": "typeless"},
            "8": {"type": "x-oca-asset", "hostname": "h1", "ip_refs": []},
        }
    ),
    # mixed types in one column, booleans, nulls, big integers, lists of dicts
    _obs(
        {
            "0": {"type": "file", "name": "x", "size": 5, "x_flag": True},
            "1": {"type": "file", "name": "y", "size": "5", "x_flag": 1},
            "2": {"type": "file", "name": "z", "size": None, "x_big": 2**70},
            "3": {
                "type": "x-thing",
                "items": [{"a/b": 1}],
                "nested": {"k": [1, "/"]},
                "extensions": {"x-ext": {"deep": {"v": 1}, "t_ref": "0"}},
            },
        },
        number=3,
    ),
    # hashes, extensions, quoted keys, shortening collisions, long names, unique ids
    _obs(
        {
            "0": {
                "type": "file",
                "name": "a.exe",
                "hashes": {"SHA-256": "ab", "MD5": "cd"},
                "parent_directory_ref": "1",
                "extensions": {
                    "x-win": {"owner_ref": "2", "mode": "rw"},
                    "ntfs-ext": {"mode": "ro"},
                },
            },
            "1": {"type": "directory", "path": "C:\\Windows/x"},
            "2": {"type": "user-account", "user_id": "u1"},
            "3": {
                "type": "process",
                "pid": 8,
                "binary_ref": "0",
                "extensions": {"x-edr": {"process_guid": "g-1"}},
            },
            "4": {"type": "process", "x_unique_id": "pu-1", "child_refs": ["3", "5"]},
            "5": {"type": "process", "pid": 9},
            "6": {
                "type": "file",
                "hashes": {"SHA-1": "s1", "SHA-256": "s2"},
                "x_" + "long_property_name_" * 3: 1,
                "extensions.'x'.foo": 2,
            },
            "7": {"type": "x-oca-asset", "host_id": "hid-7"},
            "8": {"type": "software", "name": "s", "first_observed": "nope", "id": "software--1"},
            "9": {"type": "email-message", "from_ref": "10", "subject": "hi"},
            "10": {"type": "email-addr", "value": "a@b"},
        },
        number=2,
    ),
    # a process whose pid has no host; an anonymous address; an empty objects mapping
    _obs(
        {
            "0": {"type": "process", "pid": 1},
            "1": {"type": "ipv4-addr"},
            "2": {"type": "network-traffic", "src_ref": "2", "dst_ref": "1"},
        },
        last=None,
    ),
    _obs({}),
    # Windows names with unpaired UTF-16 surrogates (Python's json reads them as they are)
    _obs(
        {
            "0": {"type": "process", "pid": 4, "name": "\udcffsvc.exe", "x_args": ["a\ud800"]},
            "1": {"type": "file", "name": "a\ud83d\ude00b", "x_size": 1},
            "2": {"type": "x-oca-asset", "hostname": "h\udc80"},
        }
    ),
    # floats (Python writes their JSON), control characters, non-ASCII keys, hashes without a
    # preferred one, a custom object's hashes, many keys, a reference to a dict that is no SCO
    _obs(
        {
            "0": {"type": "network-traffic", "src_ref": "1", "dst_port": 1.5, "x_tab": "a\tb\x01"},
            "1": {"type": "ipv4-addr", "value": "10.0.0.9", "x_weight": 0.1},
            "2": {"type": "file", "name": "f", "hashes": {"SHA-512": "z", "Zed": "y", "ab": "x"}},
            "3": {"type": "x-thing", "hashes": {"MD5": "m"}, "\u00e9t\u00e9": 1, "\u00e9": 2},
            "4": {"type": "user-account", "user_id": "\u00e9\n", "account_login": "\x7f/\\"},
            "5": {"type": "software", "name": "s", **{f"x_{i}": i for i in range(20)}},
            "6": {"type": "artifact", "hashes": {"SHA-256": "aa"}, "x_n": 10**30},
        },
        number=2.5,
    ),
    _obs({str(i): {"type": "mac-addr", "value": f"m{i % 7}"} for i in range(40)}),
    _obs(
        {
            "0": {"type": "network-traffic", "src_ref": "1", "dst_ref": "2"},
            "1": {"value": "a dict without a type"},
            "2": {"type": "ipv4-addr", "value": "10.0.0.2"},
        }
    ),
    # names that collide once shortened (flattened the general way), nested custom objects,
    # object paths written as keys, a process identified by an extension
    _obs(
        {
            "0": {
                "type": "file",
                "name": "c",
                "x_foo": 0,
                "extensions": {"x-a": {"foo": 1, "bar_ref": "1"}, "x-b": {"foo": 2}},
            },
            "1": {"type": "directory", "path": "/d"},
            "2": {"type": "file", "name": "c", "extensions": {"x-a": {"foo": 1, "bar_ref": "1"}}},
            "3": {
                "type": "x-custom",
                "inner": {"type": "x-in", "deep": {"a": 1}},
                "file:hashes.SHA-256": "ab",
                "obj": {"file:x-y.z-w": 1, "sub": {"k": "v"}},
            },
            "4": {"type": "process", "pid": 3, "extensions": {"x-edr": {"process_uid": "u/1"}}},
            "5": {"type": "x-oca-asset", "hostname": "h/2", "ip_refs": "7"},
        }
    ),
]


@pytest.mark.parametrize("page", [len(AWKWARD), 1, 2])
def test_awkward_shapes(page: int, counted: Counted) -> None:
    observed = AWKWARD * 2 + [_obs(AWKWARD[0]["objects"], number=5)]
    assert_equivalent(copy.deepcopy(observed), page)
    if page == 1:  # the two with names colliding once shortened are handed back, C takes the rest
        assert counted.handed_back == 4 and counted.taken == len(observed) - 4


def test_a_page_handed_back_goes_to_the_reference(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page the C collector declines (names that collide once shortened) is the reference's."""
    calls: list[int] = []

    def reference(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
        calls.append(len(observed))
        return occurrence_tables(observed, ids)

    monkeypatch.setattr(collect, "occurrence_tables", reference)
    colliding = copy.deepcopy(AWKWARD[-1:])
    expected = occurrence_tables(copy.deepcopy(colliding), IdCache())
    assert_same_tables(page_occurrences(colliding, IdCache()), expected, "colliding")
    assert counted.handed_back == 1 and calls == [1]


@pytest.mark.parametrize("page", [len(AWKWARD), 1000])
def test_without_the_c_collector_the_reference_runs(
    page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the C collector not built (``native`` None) every page is the reference's."""
    monkeypatch.setattr(collect, "native", None)
    calls: list[int] = []

    def reference(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
        calls.append(len(observed))
        return occurrence_tables(observed, ids)

    monkeypatch.setattr(collect, "occurrence_tables", reference)
    observed = [*copy.deepcopy(AWKWARD), *stixgen.observations(1500, seed=8, match_fraction=0.1)]
    assert_equivalent(observed, page)
    assert calls == [len(observed[s : s + page]) for s in range(0, len(observed), page)]


def test_a_build_older_than_its_source_is_not_used(
    c_collector: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An edited ``.c`` not yet rebuilt must not run its old rules silently."""
    source = tmp_path / "_occurrences.c"
    source.write_text("/* edited */")
    monkeypatch.setattr(occnative, "_SOURCES", [source])
    assert occnative.collector() is None
    assert "older than _occurrences.c" in caplog.text
    source.unlink()
    assert occnative.collector() is not None


def test_a_missing_build_is_said(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the C collector huntline still flattens, and says why it is slower."""

    def not_built(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(occnative.importlib, "import_module", not_built)
    assert occnative.collector() is None
    assert "C collector is not built" in caplog.text


@pytest.mark.parametrize("built", [True, False])
def test_not_stix_20_fails_like_the_reference(
    built: bool, c_collector: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not built:
        monkeypatch.setattr(collect, "native", None)
    bad = [{"type": "observed-data", "id": "observed-data--x", "object_refs": []}]
    with pytest.raises(FetchError) as expected:
        occurrence_tables(bad, IdCache())
    with pytest.raises(FetchError) as got:
        page_occurrences(bad, IdCache())
    assert str(got.value) == str(expected.value)


def _ill_typed_sample() -> list[dict[str, Any]]:
    """The sample bundle with its pids as text, half of them not numbers (issue 22)."""
    observed = read_observed_data(REPO / "hunts" / "data" / "sample_endpoint_bundle.json")
    observed = copy.deepcopy(observed)
    for index, obs in enumerate(observed):
        for sco in obs["objects"].values():
            if sco.get("type") == "process" and "pid" in sco:
                sco["pid"] = "abc" if index % 2 else hex(sco["pid"])
        obs["objects"]["junk"] = 42 if index % 3 == 0 else {"value": "typeless"}
    return observed


@pytest.mark.parametrize("page", [1000, 5])
def test_ill_typed_values_and_junk_are_counted_the_same(page: int, counted: Counted) -> None:
    """Text pids (coerced in Python, so C hands those SCOs over) and junk items give the
    reference's tables and the reference's counts, each counted once."""
    from huntline.fetch import tally

    observed = _ill_typed_sample()
    with tally.tallied() as theirs:
        occurrence_tables(observed, IdCache())
    with tally.tallied() as ours:
        for start in range(0, len(observed), page):
            page_occurrences(observed[start : start + page], IdCache())
    assert ours == theirs
    assert theirs["observed-data.objects"] == len(observed)
    assert theirs["process.pid"] > 0
    assert_equivalent(observed, page)
    assert counted.taken and not counted.handed_back
