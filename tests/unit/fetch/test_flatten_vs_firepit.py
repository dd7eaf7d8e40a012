"""firepit 2.3 as the oracle: huntline's tables equal ``cache()`` + ``lookup()``, row for row.

For every bundle in ``shared/data/stix`` and for generated bundles with every reference shape
(``bench/stixgen.py``), and for every SCO type in them:

- the same number of rows, and the same ids wherever firepit's id is deterministic (uuid5);
  firepit's random uuid4 ids (anonymous SCOs) are mapped to huntline's by the observation and
  position that produced them (firepit's ``__contains`` rows, in order), so their rows, and every
  ``*.id`` column pointing at them, are compared too;
- every column firepit returns exists in huntline's table with the same value in every row.
  Documented normalisation only: SQLite has no booleans (``True`` is ``1``) and returns integral
  REAL values as floats; a column huntline turned into text because its values have mixed types
  is compared as text;
- ``first_observed``/``last_observed``/``number_observed`` equal firepit's ``summary()`` figures
  per entity (MIN/MAX/SUM over the observations that contain it, each observation once).
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import stixgen

from huntline.fetch import EntitySpool, flatten_all
from huntline.fetch.sources.bundle import read_observed_data
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.rules import sco_ids

firepit = pytest.importorskip("firepit")

BUNDLES = [
    "log4shell_bundle.json",
    "powershell_search_stix_result.json",
    "test_bundle.json",
    "test_bundle_2.json",
    "test_bundle_nt_1.json",
]


def firepit_tables(path: Path, db: Path) -> tuple[dict[str, list[dict[str, Any]]], Any]:
    store = firepit.get_storage(str(db), "oracle")
    store.cache("q", [str(path)])
    tables = {}
    for sco_type in store.types():
        if sco_type in ("identity", "observed-data") or sco_type.startswith("__"):
            continue
        view = "v_" + sco_type.replace("-", "_")
        store.extract(view, sco_type, "q", None)
        tables[sco_type] = store.lookup(view)
    return tables, store


def firepit_summaries(db: Path) -> dict[str, tuple[Any, Any, Any]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT c.target_ref, MIN(o.first_observed), MAX(o.last_observed),"
            " SUM(o.number_observed)"
            ' FROM (SELECT DISTINCT source_ref, target_ref FROM "__contains") c'
            ' JOIN "observed-data" o ON o.id = c.source_ref GROUP BY c.target_ref'
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def id_mapping(path: Path, db: Path) -> dict[str, str]:
    """firepit id -> huntline id, by (observation, position of the SCO in it)."""
    with sqlite3.connect(db) as connection:
        contains = connection.execute(
            'SELECT source_ref, target_ref FROM "__contains" ORDER BY rowid'
        ).fetchall()
    theirs: dict[str, list[str]] = defaultdict(list)
    for source, target in contains:
        theirs[source].append(target)
    mapping: dict[str, str] = {}
    cache = IdCache()
    for obs in read_observed_data(path):
        ours = list(sco_ids(obs, cache).values())
        assert len(ours) == len(theirs[obs["id"]]), obs["id"]
        for their_id, our_id in zip(theirs[obs["id"]], ours, strict=True):
            if _uuid_version(their_id) == 5:
                assert their_id == our_id, f"{obs['id']}: firepit {their_id}, huntline {our_id}"
            mapping[their_id] = our_id
    return mapping


def _uuid_version(sco_id: str) -> int:
    return int(sco_id.partition("--")[2][14], 16)


def _norm(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def assert_same(path: Path, tmp_path: Path, ours: dict[str, pa.Table]) -> None:
    db = tmp_path / "firepit.db"
    theirs, _ = firepit_tables(path, db)
    mapping = id_mapping(path, db)
    summaries = firepit_summaries(db)
    assert sorted(theirs) == sorted(ours)
    for sco_type, their_rows in theirs.items():
        table = ours[sco_type]
        by_id = {row["id"]: row for row in table.to_pylist()}
        assert len(by_id) == table.num_rows == len(their_rows), sco_type
        text = {f.name for f in table.schema if pa.types.is_large_string(f.type)}
        missing = {c for row in their_rows for c in row} - set(table.column_names)
        assert not missing, f"{path.name} {sco_type}: huntline lacks {sorted(missing)}"
        for their in their_rows:
            our = by_id[mapping[their["id"]]]
            for column, value in their.items():
                expected = mapping.get(value, value) if column.endswith("id") else value
                got = our[column]
                if column in text and expected is not None and not isinstance(expected, str):
                    expected = str(_norm(expected))
                assert _norm(got) == _norm(expected), (
                    f"{path.name} {sco_type} {our['id']} {column}:"
                    f" firepit {value!r}, huntline {got!r}"
                )
            first, last, count = summaries[their["id"]]
            assert (our["first_observed"], our["last_observed"], our["number_observed"]) == (
                first, last, count,
            ), f"{path.name} {sco_type} {our['id']}"  # fmt: skip


@pytest.mark.parametrize("bundle", BUNDLES)
def test_shared_bundles_equal_firepit(bundle: str, shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "stix" / bundle
    assert_same(path, tmp_path, flatten_all(read_observed_data(path)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_bundles_equal_firepit(seed: int, tmp_path: Path) -> None:
    path = tmp_path / "generated.json"
    stixgen.write_bundle(path, 400, seed=seed, match_fraction=0.2)
    assert_same(path, tmp_path, flatten_all(read_observed_data(path)))


def test_paged_spool_equals_one_batch_and_firepit(tmp_path: Path) -> None:
    """Entities merged across pages (and spilled parts) equal the single-batch tables."""
    path = tmp_path / "generated.json"
    stixgen.write_bundle(path, 600, seed=9, match_fraction=0.1)
    observed = read_observed_data(path)
    whole = flatten_all(observed)
    with EntitySpool(tmp_path / "spool", flush_rows=150) as spool:
        (tmp_path / "spool").mkdir(exist_ok=True)
        for start in range(0, len(observed), 37):
            spool.add(observed[start : start + 37])
        paged = {t: spool.table(t) for t in spool.types()}
    assert sorted(paged) == sorted(whole)
    for sco_type, table in whole.items():
        assert paged[sco_type].to_pylist() == table.to_pylist(), sco_type
    assert_same(path, tmp_path, paged)
