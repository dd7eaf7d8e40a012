"""One page of observed-data -> occurrence tables, as :mod:`.occurrences` builds them, faster.

:func:`page_occurrences` returns exactly what :func:`.occurrences.occurrence_tables` returns
(same tables, columns, order, types, values and ids; ``tests/unit/fetch/test_fastocc.py``
compares the two on every input it has). The rules are :mod:`.occurrences`', :mod:`.plans`' and
:mod:`.identity`'s; this module only does the same work with less Python per SCO:

- one tight loop over observations and SCOs, with no per-SCO intermediate objects: an SCO's
  content (its orjson bytes) maps to a cached :class:`_Shape`, which holds the flattened row
  without references, the references as local keys, and the id when the content decides it;
- a plain SCO (no nested dict, no name to quote or shorten; most of them) is compiled in one
  pass; only the others go through :func:`.plans.make_plan`;
- a shape remembers its per-page template index, so a recurring SCO costs a content lookup,
  three list appends and its references;
- ids that need the observation (hosted processes, anonymous SCOs, SCOs identified through
  references) are computed on demand per observation by :class:`_ObsIds`, which follows
  :class:`.occurrences` to the letter, and uuid5 names go through the shared :class:`IdCache`.

The table of each type is then built as :mod:`.occurrences` builds it (distinct rows ``take``-n
per occurrence, references as sparse columns, types decided by the same helper), so the types
and column order cannot drift from it.
"""

from __future__ import annotations

from itertools import chain
from typing import Any
from weakref import WeakKeyDictionary

import orjson
import pyarrow as pa

from huntline.errors import FetchError
from huntline.fetch.base import ObservedData
from huntline.fetch.identity import (
    ID_PROPERTIES,
    SELF_CONTAINED,
    IdCache,
    compact,
    identifying_properties,
    observation_digest,
    occurrence_id,
)
from huntline.fetch.occurrences import (  # the table rules, shared so they cannot drift
    _array,
    _asset_id,
    _collector_paused,
    rows_to_table,
)
from huntline.fetch.plans import (
    ANONYMOUS,
    FIXED,
    GENERAL,
    HOSTED,
    OBSERVATION_COLUMNS,
    SKIPPED,
    json_text,
    make_plan,
    nested_row,
)

__all__ = ["page_occurrences"]

_REF_SUFFIXES = ("_ref", "_refs")
_OBS_NAMES = frozenset(OBSERVATION_COLUMNS)


class _Shape:
    """What every occurrence of one SCO content shares (a :class:`.plans.Plan`, plus the page
    it was last used in and its template index there)."""

    __slots__ = (
        "columns",
        "kind",
        "ordered",
        "page",
        "pid",
        "ref_lists",
        "refs",
        "row",
        "sco_type",
        "sid",
        "template",
    )

    def __init__(self, sco_type: str) -> None:
        self.sco_type = sco_type
        self.row: dict[str, Any] | None = None
        self.columns: tuple[str, ...] = ()
        self.refs: tuple[tuple[str, Any], ...] = ()
        self.ref_lists: tuple[tuple[str, list[Any]], ...] = ()
        self.kind = GENERAL
        self.sid: str | None = None
        self.pid: Any = None
        self.page: object = None
        self.ordered: object = None
        self.template = 0


class _Store:
    """Shapes by SCO content, per :class:`IdCache` (bounded like its plans)."""

    __slots__ = ("shapes", "size")

    def __init__(self, size: int) -> None:
        self.shapes: dict[bytes, _Shape] = {}
        self.size = size


_STORES: WeakKeyDictionary[IdCache, _Store] = WeakKeyDictionary()


def _store(cache: IdCache) -> _Store:
    store = _STORES.get(cache)
    if store is None:
        store = _STORES[cache] = _Store(cache.plan_size)
    return store


def _no_target(key: str) -> str:  # pragma: no cover - self-contained types have no references
    raise AssertionError(key)


def _compile(sco: dict[str, Any], cache: IdCache) -> _Shape:
    """The shape of ``sco``: :func:`.plans.make_plan`'s result, in one pass for plain SCOs."""
    sco_type = sco["type"]
    row: dict[str, Any] = {}
    columns: list[str] = []
    refs: list[tuple[str, Any]] = []
    ref_lists: list[tuple[str, list[Any]]] = []
    for name, value in sco.items():
        kind = type(value)
        if kind is dict or "-" in name or len(name) > 48 or name == "extensions":
            return _from_plan(sco, cache)  # not plain: the general rules
        if name in SKIPPED:
            continue
        if name.endswith("_ref"):
            refs.append((name, value))
        elif name.endswith("_refs"):
            ref_lists.append((name, value if kind is list else [value]))
        elif name in _OBS_NAMES:
            continue  # the observation's own values win
        else:
            row[name] = json_text(value) if kind is list else value
        columns.append(name)
    shape = _Shape(sco_type)
    shape.row = row
    shape.columns = tuple(columns)
    shape.refs = tuple(refs)
    shape.ref_lists = tuple(ref_lists)
    # the id, as plans._plan_id decides it
    if sco_type in SELF_CONTAINED:
        contrib = identifying_properties(sco, None, None, _no_target)
        if contrib:
            shape.kind, shape.sid = FIXED, cache.id_for(sco_type, contrib)
        else:
            shape.kind = ANONYMOUS
    elif sco_type == "process":
        contrib = identifying_properties(sco, None, None, _no_target)
        if contrib:
            shape.kind, shape.sid = FIXED, cache.id_for(sco_type, contrib)
        else:
            shape.kind, shape.pid = HOSTED, sco.get("pid")
    elif sco_type not in ID_PROPERTIES:
        shape.kind = ANONYMOUS
    return shape


def _from_plan(sco: dict[str, Any], cache: IdCache) -> _Shape:
    plan = make_plan(sco, cache)
    shape = _Shape(plan.sco_type)
    shape.row = plan.row
    shape.columns = plan.columns
    shape.refs = plan.refs
    shape.ref_lists = plan.ref_lists
    shape.kind = plan.kind
    shape.sid = plan.sid
    shape.pid = plan.pid
    return shape


class _Columns:
    """One type's occurrences in one page, column-wise (see ``occurrences._TypeRows``)."""

    __slots__ = ("counts", "ids", "obs", "orders", "refs", "template_of", "templates")

    def __init__(self) -> None:
        self.templates: list[dict[str, Any]] = []
        self.template_of: list[int] = []
        self.ids: list[str] = []
        self.obs: list[int] = []
        self.counts: list[Any] = []
        self.refs: dict[str, tuple[list[int], list[str]]] = {}
        self.orders: dict[Any, tuple[str, ...]] = {}

    def table(self, observed: list[ObservedData]) -> pa.Table:
        count = len(self.ids)
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        if any(self.templates):
            base = rows_to_table(self.templates)
            if self.template_of != list(range(len(self.templates))):
                base = base.take(pa.array(self.template_of, pa.int32()))
            columns.update(zip(base.column_names, base.columns, strict=True))
        for name, (positions, values) in self.refs.items():
            if len(positions) < count:
                full: list[Any] = [None] * count
                for position, value in zip(positions, values, strict=True):
                    full[position] = value
                values = full
            columns[name] = _array(values)
        names = list(dict.fromkeys(chain.from_iterable(self.orders.values())))
        arrays = [columns[n] for n in names]
        names.append("id")
        arrays.append(_array(self.ids))
        for name in OBSERVATION_COLUMNS[:2]:
            names.append(name)
            arrays.append(_array([observed[i].get(name) for i in self.obs]))
        names.append("number_observed")
        arrays.append(_array(self.counts))
        return pa.table(arrays, names=names)


def page_occurrences(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
    """The occurrences in ``observed``, one table per SCO type, in observation order: the same
    tables as :func:`.occurrences.occurrence_tables`.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    with _collector_paused():
        types = _collect(observed, ids)
        return {name: rows.table(observed) for name, rows in types.items()}


def _collect(observed: list[ObservedData], cache: IdCache) -> dict[str, _Columns]:
    store = _store(cache)
    shapes = store.shapes
    limit = store.size
    dumps = orjson.dumps
    page = object()  # marks the shapes met in this page
    types: dict[str, _Columns] = {}
    for index, obs in enumerate(observed):
        objects = obs.get("objects")
        if not isinstance(objects, dict) or not isinstance(obs.get("id"), str):
            raise FetchError(
                f"observed-data {obs.get('id', '(no id)')} has no embedded 'objects' mapping",
                hint="only STIX 2.0 observed-data with embedded objects can be flattened",
            )
        local: dict[str, _Shape] = {}
        known: dict[str, str] = {}
        for key, sco in objects.items():
            if isinstance(sco, dict) and isinstance(sco.get("type"), str):
                try:
                    content = dumps(sco)
                except TypeError:  # integers beyond 64 bits: not cached
                    shape = _compile(sco, cache)
                else:
                    shape = shapes.get(content)  # type: ignore[assignment]
                    if shape is None:
                        if len(shapes) >= limit:
                            shapes.clear()  # bounded memory; a miss costs one compile
                        shape = shapes[compact(content)] = _compile(sco, cache)
                local[key] = shape
                if shape.kind == FIXED:
                    known[key] = shape.sid  # type: ignore[assignment]
        if not local:
            continue
        count = obs.get("number_observed")
        resolver: _ObsIds | None = None
        seen: set[str] = set()
        for key, shape in local.items():
            sid = known.get(key)
            if sid is None:
                if resolver is None:
                    resolver = _ObsIds(obs, objects, cache, local, known)
                sid = resolver.of(key)
            rows = types.get(shape.sco_type)
            if rows is None:
                rows = types[shape.sco_type] = _Columns()
            row_ids = rows.ids
            position = len(row_ids)
            row_ids.append(sid)
            rows.obs.append(index)
            rows.counts.append(0 if sid in seen else count)
            seen.add(sid)
            if shape.row is None:
                if resolver is None:
                    resolver = _ObsIds(obs, objects, cache, local, known)
                _general(rows, position, objects[key], key, objects, resolver)
                continue
            if shape.page is not page:
                shape.page = page
                shape.template = len(rows.templates)
                rows.templates.append(shape.row)
            rows.template_of.append(shape.template)
            if not shape.refs and not shape.ref_lists:
                if shape.ordered is not page:
                    shape.ordered = page
                    rows.orders[shape] = shape.columns
                continue
            dropped: list[str] | None = None
            refs = rows.refs
            for name, target in shape.refs:
                if type(target) is str and target in local:
                    value = known.get(target)
                    if value is None:
                        if resolver is None:
                            resolver = _ObsIds(obs, objects, cache, local, known)
                        value = resolver.of(target)
                    entry = refs.get(name)
                    if entry is None:
                        entry = refs[name] = ([], [])
                    entry[0].append(position)
                    entry[1].append(value)
                elif dropped is None:  # dangling: firepit drops it
                    dropped = [name]
                else:
                    dropped.append(name)
            for name, targets in shape.ref_lists:
                resolved = []
                for target in targets:
                    if target != key and type(target) is str and target in local:
                        value = known.get(target)
                        if value is None:
                            if resolver is None:
                                resolver = _ObsIds(obs, objects, cache, local, known)
                            value = resolver.of(target)
                        resolved.append(value)
                if resolved:
                    entry = refs.get(name)
                    if entry is None:
                        entry = refs[name] = ([], [])
                    entry[0].append(position)
                    entry[1].append(json_text(resolved))
                elif dropped is None:
                    dropped = [name]
                else:
                    dropped.append(name)
            if dropped is None:
                if shape.ordered is not page:
                    shape.ordered = page
                    rows.orders[shape] = shape.columns
            else:
                order = tuple(c for c in shape.columns if c not in dropped)
                rows.orders.setdefault(order, order)
    return types


def _general(
    rows: _Columns,
    position: int,
    sco: dict[str, Any],
    key: str,
    objects: dict[str, Any],
    ids: _ObsIds,
) -> None:
    """An SCO whose shape has no row: flattened from scratch, its own template."""
    row = nested_row(sco, key, objects, ids.of)
    template = {}
    refs = rows.refs
    for name, value in row.items():
        if name.endswith(_REF_SUFFIXES):
            entry = refs.get(name)
            if entry is None:
                entry = refs[name] = ([], [])
            entry[0].append(position)
            entry[1].append(value)
        elif name not in _OBS_NAMES:
            template[name] = value
    rows.template_of.append(len(rows.templates))
    rows.templates.append(template)
    order = tuple(n for n in row if n not in _OBS_NAMES)
    rows.orders.setdefault(order, order)


_UNKNOWN = object()


class _ObsIds:
    """The ids of one observation's SCOs that its content alone does not decide, on demand.

    The same rules as ``occurrences._Ids`` with plans (hosted processes, anonymous SCOs, SCOs
    identified through their references' targets).
    """

    __slots__ = ("_asset", "_digest", "cache", "known", "objects", "obs", "shapes")

    def __init__(
        self,
        obs: ObservedData,
        objects: dict[str, Any],
        cache: IdCache,
        shapes: dict[str, _Shape],
        known: dict[str, str],
    ) -> None:
        self.obs = obs
        self.objects = objects
        self.cache = cache
        self.shapes = shapes
        self.known = known
        self._digest: bytes | None = None
        self._asset: Any = _UNKNOWN

    def of(self, key: str) -> str:
        found = self.known.get(key)
        if found is not None:
            return found
        shape = self.shapes.get(key)
        kind = GENERAL if shape is None else shape.kind
        if shape is not None and kind == FIXED:
            found = shape.sid
            assert found is not None
        elif shape is not None and kind == HOSTED:
            if self._asset is _UNKNOWN:
                self._asset = _asset_id(self.objects)
            pid, asset = shape.pid, self._asset
            if pid and asset:
                unique = f"{pid}_{asset}_{self.obs.get('last_observed')}"
                found = self.cache.id_for("process", {"x_unique_id": unique})
            else:
                found = self._anonymous("process", key)
        elif shape is not None and kind == ANONYMOUS:
            found = self._anonymous(shape.sco_type, key)
        else:
            found = self._general(key)
        self.known[key] = found
        return found

    def _general(self, key: str) -> str:
        sco = self.objects[key]
        if sco["type"] in SELF_CONTAINED:  # only an SCO without a shape; never met here
            raise AssertionError(key)  # pragma: no cover
        last = self.obs.get("last_observed")
        contrib = identifying_properties(sco, self.objects, last, self._target)
        return self._id(sco["type"], key, contrib)

    def _target(self, key: str) -> str:
        """A reference target's id the way firepit computes it: without the observation."""
        shape = self.shapes.get(key)
        if shape is not None and shape.kind != GENERAL:
            if shape.kind == FIXED:
                return shape.sid  # type: ignore[return-value]
            return self.of(key)
        sco = self.objects[key]
        contrib = identifying_properties(sco, None, None, self._target)
        return self._id(sco.get("type", ""), key, contrib) if contrib else self.of(key)

    def _id(self, sco_type: str, key: str, contrib: dict[str, Any]) -> str:
        if contrib:
            return self.cache.id_for(sco_type, contrib)
        return self._anonymous(sco_type, key)

    def _anonymous(self, sco_type: str, key: str) -> str:
        if self._digest is None:
            self._digest = observation_digest(self.obs)
        return occurrence_id(sco_type, self._digest, key)
