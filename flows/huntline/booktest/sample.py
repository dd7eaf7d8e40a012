"""Turn a test case's sample data into the STIX bundle its ``get`` step reads.

Every form becomes a ``file://`` bundle, so a case runs the book's real path: the STIX pattern
is matched, observations are flattened into the same tables a production run gets, and the
pattern itself is under test. A table (parquet or JSON rows with Kestrel column names such as
``parent_ref.name`` or ``binary_ref.parent_directory_ref.path``) is turned back into one
observation per row, each ``*_ref`` prefix becoming a referenced object.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from huntline.booktest.spec import Case, LoadedTests, SampleData
from huntline.errors import BookError

# The type a reference points at, by the reference's name, where STIX fixes it.
REF_TYPES = {
    "binary_ref": "file",
    "image_ref": "file",
    "parent_directory_ref": "directory",
    "creator_user_ref": "user-account",
    "user_ref": "user-account",
    "src_payload_ref": "artifact",
    "dst_payload_ref": "artifact",
}
SKIPPED = {"id", "type", "first_observed", "last_observed", "number_observed", "x_datasource"}
PAD = timedelta(seconds=1)


def write_bundle(
    tests: LoadedTests, case: Case, data: SampleData | None, entity: str, path: Path
) -> tuple[datetime, datetime] | None:
    """Write the bundle one variable reads to ``path``; return the span its observations cover
    (None when there are none)."""
    if data is not None and data.bundle is not None:
        source = tests.resolve(data.bundle)
        try:
            bundle = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:  # RecursionError: nested too deep
            raise BookError(f"{tests.path}: cannot read bundle {source}: {error}") from None
    else:
        observations: list[tuple[dict[str, Any], datetime, datetime]] = []
        if data is not None and data.objects is not None:
            observations = [(_keyed(item), case.time, case.time) for item in data.objects]
        elif data is not None and data.table is not None:
            observations = list(_table_observations(tests, tests.resolve(data.table), entity, case))
        bundle = _bundle(observations)
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return _span(bundle)


def run_window(
    spans: Iterable[tuple[datetime, datetime] | None], case: Case
) -> tuple[datetime, datetime]:
    """A window around every observation of the case (an hour around its time when empty)."""
    known = [span for span in spans if span is not None]
    if not known:
        return case.time - timedelta(hours=1), case.time + timedelta(hours=1)
    return min(s for s, _ in known) - PAD, max(e for _, e in known) + PAD


def _keyed(objects: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    return objects if isinstance(objects, dict) else {str(i): o for i, o in enumerate(objects)}


def _bundle(observations: list[tuple[dict[str, Any], datetime, datetime]]) -> dict[str, Any]:
    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    objects = []
    for index, (scos, first, last) in enumerate(observations):
        objects.append(
            {
                "type": "observed-data",
                "id": f"observed-data--{uuid.uuid5(uuid.NAMESPACE_URL, f'huntline-test-{index}')}",
                "created": stamp(first),
                "modified": stamp(first),
                "first_observed": stamp(first),
                "last_observed": stamp(last),
                "number_observed": 1,
                "objects": scos,
            }
        )
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "spec_version": "2.0",
        "objects": objects,
    }


def _span(bundle: dict[str, Any]) -> tuple[datetime, datetime] | None:
    moments = [
        (pd.Timestamp(item["first_observed"]), pd.Timestamp(item["last_observed"]))
        for item in bundle.get("objects", [])
        if item.get("type") == "observed-data"
    ]
    if not moments:
        return None
    return min(f for f, _ in moments).to_pydatetime(), max(
        last for _, last in moments
    ).to_pydatetime()


def _read_table(tests: LoadedTests, path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".json":
            return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
        return pd.read_parquet(path)
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: nested too deep
        raise BookError(f"{tests.path}: cannot read table {path}: {error}") from None


def _table_observations(
    tests: LoadedTests, path: Path, entity: str, case: Case
) -> Iterable[tuple[dict[str, Any], datetime, datetime]]:
    for row in _read_table(tests, path).to_dict(orient="records"):
        values = {str(k): v for k, v in row.items() if not _missing(v)}
        first = pd.Timestamp(values.get("first_observed", case.time)).to_pydatetime()
        last = pd.Timestamp(values.get("last_observed", first)).to_pydatetime()
        yield _unflatten(values, entity), first, last


def _unflatten(row: dict[str, Any], entity: str) -> dict[str, Any]:
    """``{name, parent_ref.name, binary_ref.parent_directory_ref.path}`` → STIX objects."""
    objects: dict[str, dict[str, Any]] = {"0": {"type": entity}}
    keys: dict[tuple[str, ...], str] = {(): "0"}
    for column in sorted(row, key=lambda name: name.count(".")):
        *refs, prop = column.split(".")
        if prop in SKIPPED or any(not ref.endswith("_ref") for ref in refs):
            continue  # identity columns are regenerated; nested non-ref keys are not rebuilt
        owner: tuple[str, ...] = ()
        for ref in refs:
            path = (*owner, ref)
            if path not in keys:
                keys[path] = str(len(objects))
                objects[keys[path]] = {"type": _ref_type(ref, row, path, objects[keys[owner]])}
                objects[keys[owner]][ref] = keys[path]
            owner = path
        objects[keys[owner]][prop] = _plain(row[column])
    return objects


def _ref_type(ref: str, row: dict[str, Any], path: tuple[str, ...], owner: dict[str, Any]) -> str:
    given = row.get(".".join((*path, "type")))
    if isinstance(given, str):
        return given
    if ref == "parent_ref":
        return str(owner["type"])
    if ref in {"src_ref", "dst_ref"}:
        value = str(row.get(".".join((*path, "value")), ""))
        return "ipv6-addr" if ":" in value else "ipv4-addr"
    return REF_TYPES.get(ref, "x-unknown")


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)  # a column with nulls reads as float; STIX pids are integers
    return value
