"""One page of observed-data -> one Arrow table of SCO *occurrences* per type.

An occurrence is one SCO inside one observation, already in firepit's column shape but not yet
merged with the other occurrences of the same entity (that is :mod:`.entities`' job, which sees
every page). Each row holds:

- ``id``: the entity id (:mod:`.identity`);
- the SCO's properties as flat columns, named as firepit names them: nested dicts become dotted
  paths, a key containing ``-`` is single-quoted (``hashes.'SHA-256'``), a custom ``x-`` object's
  own dict values are not recursed into (its ``extensions`` are), and a column under
  ``extensions.'<name>'.`` (or longer than 48 characters) is shortened to ``x_<rest>``; when two
  shorten to the same name the later one wins, as in firepit;
- lists and (custom objects') dicts as JSON text, byte for byte what firepit stores
  (``["ipv4","tcp"]``, ``/`` written ``\\/``);
- each ``*_ref`` as the id of its target; a reference to a key that is not in the observation
  is dropped, as firepit drops it;
- each ``*_refs`` as a JSON list of target ids (dangling and self references dropped), where
  firepit moves them to a side table that ``lookup()`` never returns;
- ``first_observed``, ``last_observed`` and ``number_observed`` of the observation. An entity
  that occurs twice in one observation counts that observation once (``number_observed`` 0 on
  the repeat).

A property whose values in one page have different JSON types (an int here, a string there)
becomes text: ``str()`` of each value, with booleans as ``1``/``0`` as SQLite stores them.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from huntline.errors import FetchError
from huntline.fetch.base import ObservedData
from huntline.fetch.identity import (
    SELF_CONTAINED,
    IdCache,
    identifying_properties,
    observation_digest,
    occurrence_id,
)

OBSERVATION_COLUMNS = ("first_observed", "last_observed", "number_observed")
_SKIPPED = frozenset(("type", "spec_version", "id"))
_SHORTEN = re.compile(r"^extensions\.'(x-)?[\w-]+'\.")


def occurrence_tables(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
    """The occurrences in ``observed``, one table per SCO type, in observation order.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    rows: dict[str, list[dict[str, Any]]] = {}
    with _collector_paused():
        for obs in observed:
            _observation_rows(obs, ids, rows)
        return {sco_type: rows_to_table(found) for sco_type, found in rows.items()}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while flattening.

    Flattening makes millions of small acyclic dicts, and every collection walks the whole heap
    (the page, and often a whole parsed bundle); that alone cost more than the flattening.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _observation_rows(
    obs: ObservedData, cache: IdCache, rows: dict[str, list[dict[str, Any]]]
) -> None:
    objects = obs.get("objects")
    if not isinstance(objects, dict) or not isinstance(obs.get("id"), str):
        raise FetchError(
            f"observed-data {obs.get('id', '(no id)')} has no embedded 'objects' mapping",
            hint="only STIX 2.0 observed-data with embedded objects can be flattened",
        )
    ids = _Ids(obs, objects, cache)
    first, last, count = (
        obs.get("first_observed"),
        obs.get("last_observed"),
        obs.get("number_observed"),
    )
    seen: set[str] = set()
    for key, sco in objects.items():
        if not isinstance(sco, dict) or not isinstance(sco.get("type"), str):
            continue
        sid = ids.of(key)
        row = _flat_row(sco, key, objects, ids)
        row["id"] = sid
        row["first_observed"] = first
        row["last_observed"] = last
        row["number_observed"] = 0 if sid in seen else count
        seen.add(sid)
        rows.setdefault(sco["type"], []).append(row)


def sco_ids(obs: ObservedData, cache: IdCache | None = None) -> dict[str, str]:
    """The entity id of every SCO in one observation, by its key in ``objects``."""
    objects = obs.get("objects") or {}
    ids = _Ids(obs, objects, cache or IdCache())
    return {key: ids.of(key) for key, sco in objects.items() if _is_sco(objects, key)}


class _Ids:
    """The ids of one observation's SCOs, computed on demand (references need their targets')."""

    def __init__(self, obs: ObservedData, objects: dict[str, Any], cache: IdCache) -> None:
        self.obs = obs
        self.objects = objects
        self.cache = cache
        self.known: dict[str, str] = {}
        self._digest: bytes | None = None

    def of(self, key: str) -> str:
        known = self.known.get(key)
        if known is None:
            sco = self.objects[key]
            content = None
            if sco["type"] in SELF_CONTAINED:  # the same address, user, host recur constantly
                content = orjson.dumps(sco)
                known = self.cache.by_content.get(content)
                if known is not None:
                    self.known[key] = known
                    return known
            last = self.obs.get("last_observed")
            contrib = identifying_properties(sco, self.objects, last, self._target)
            known = self.known[key] = self._id(sco["type"], key, contrib)
            if content is not None and contrib:
                self.cache.remember(content, known)
        return known

    def _target(self, key: str) -> str:
        """A reference target's id the way firepit computes it: without the observation."""
        sco = self.objects[key]
        contrib = identifying_properties(sco, None, None, self._target)
        return self._id(sco.get("type", ""), key, contrib) if contrib else self.of(key)

    def _id(self, sco_type: str, key: str, contrib: dict[str, Any]) -> str:
        if contrib:
            return self.cache.id_for(sco_type, contrib)
        if self._digest is None:
            self._digest = observation_digest(self.obs)
        return occurrence_id(sco_type, self._digest, key)


class _Shape(NamedTuple):
    """What one set of property names needs, worked out once: most SCOs share a few shapes."""

    plain: bool  # no name is quoted, shortened or nested by its name alone
    skipped: tuple[str, ...]
    refs: tuple[str, ...]
    ref_lists: tuple[str, ...]


_SHAPES: dict[tuple[str, ...], _Shape] = {}


def _shape(names: tuple[str, ...]) -> _Shape:
    found = _SHAPES.get(names)
    if found is None:
        if len(_SHAPES) > 10_000:
            _SHAPES.clear()
        plain = not any("-" in n or len(n) > 48 or n == "extensions" for n in names)
        found = _SHAPES[names] = _Shape(
            plain,
            tuple(n for n in names if n in _SKIPPED),
            tuple(n for n in names if n.endswith("_ref")),
            tuple(n for n in names if n.endswith("_refs")),
        )
    return found


def _flat_row(sco: dict[str, Any], key: str, objects: dict[str, Any], ids: _Ids) -> dict[str, Any]:
    shape = _shape(tuple(sco))
    if shape.plain:
        kinds = set(map(type, sco.values()))
        if dict not in kinds:  # the common case: copy, then fix only what needs it
            row = dict(sco)
            for name in shape.skipped:
                del row[name]
            for name in shape.refs:
                _set_ref(row, name, objects, ids)
            for name in shape.ref_lists:
                _set_ref_list(row, name, key, objects, ids)
            if list in kinds:
                for name, value in row.items():
                    if type(value) is list:
                        row[name] = json_text(value)
            return row
    return _nested_row(sco, key, objects, ids)


def _set_ref(row: dict[str, Any], name: str, objects: dict[str, Any], ids: _Ids) -> None:
    if _is_sco(objects, row[name]):
        row[name] = ids.of(row[name])
    else:
        del row[name]  # dangling: firepit drops it


def _set_ref_list(
    row: dict[str, Any], name: str, key: str, objects: dict[str, Any], ids: _Ids
) -> None:
    value = row[name]
    targets = value if isinstance(value, list) else [value]
    resolved = [ids.of(t) for t in targets if t != key and _is_sco(objects, t)]
    if resolved:
        row[name] = json_text(resolved)
    else:
        del row[name]


def _nested_row(
    sco: dict[str, Any], key: str, objects: dict[str, Any], ids: _Ids
) -> dict[str, Any]:
    """The general case: nested dicts, quoted and shortened names."""
    flat: dict[str, Any] = {}
    _normalise(sco, "", flat, top=True)
    row: dict[str, Any] = {}
    for name, value in flat.items():
        row[name] = value
        if name.endswith("_ref"):
            _set_ref(row, name, objects, ids)
        elif name.endswith("_refs"):
            _set_ref_list(row, name, key, objects, ids)
        if name not in row:
            continue
        value = row.pop(name)
        if len(name) > 48 or "extensions." in name:
            name = _SHORTEN.sub("x_", name)
        kind = type(value)
        row[name] = json_text(value) if kind is list or kind is dict else value
    return row


def _is_sco(objects: dict[str, Any], key: Any) -> bool:
    if not isinstance(key, str):
        return False
    target = objects.get(key)
    return isinstance(target, dict) and isinstance(target.get("type"), str)


def _normalise(obj: dict[str, Any], prefix: str, out: dict[str, Any], *, top: bool = False) -> None:
    """firepit's flattening of one (nested) dict into dotted, quoted column names."""
    otype = obj.get("type", "")
    for key, value in obj.items():
        if top and key in _SKIPPED:
            continue
        name = key
        if "-" in key:
            if ":" in key:  # an object path written as a key: quote its hyphenated parts
                otype, _, path = key.rpartition(":")
                name = f"{otype}:" + ".".join(f"'{p}'" if "-" in p else p for p in path.split("."))
            else:
                name = f"'{key}'"
        if prefix:
            name = f"{prefix}.{name}"
        custom = isinstance(otype, str) and otype.startswith("x-")
        if isinstance(value, dict) and (key == "extensions" or not custom):
            _normalise(value, name, out)
        else:
            out[name] = value


def json_text(value: Any) -> str:
    """A list or dict as firepit stores it: ujson's compact text, ``/`` escaped as ``\\/``."""
    try:
        return orjson.dumps(value).replace(b"/", b"\\/").decode()
    except TypeError:
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts that may lack keys) as a table of the union of their keys, first seen first."""
    try:  # one pass in C++ when every column has one type
        return pa.Table.from_struct_array(pa.array(rows))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    names = list(dict.fromkeys(chain.from_iterable(rows)))
    arrays = [_array([row.get(name) for row in rows]) for name in names]
    return pa.table(arrays, names=names)


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([text_value(v) for v in values], type=pa.large_string())


def text_value(value: Any) -> str | None:
    """One value of a mixed-type column as the text SQLite's TEXT affinity would give."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
