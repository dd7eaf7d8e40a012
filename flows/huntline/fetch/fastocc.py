"""One page of observed-data -> occurrence tables, as :mod:`.occurrences` builds them, faster.

:func:`page_occurrences` returns exactly what :func:`.occurrences.occurrence_tables` returns
(same tables, columns, order, types, values and ids; ``tests/unit/fetch/test_fastocc.py``
compares the two on every input it has). The rules are :mod:`.occurrences`', :mod:`.plans`' and
:mod:`.identity`'s; this module only does the same work with less Python per SCO:

- one loop over observations and SCOs, with no Plan and no per-occurrence dicts: an SCO's
  content (its orjson bytes) maps to a cached :class:`_Shape`, which holds the flattened row
  without references, the references as local keys, and the id when the content decides it;
- a plain SCO (no nested dict, no name to quote or shorten; most of them) is compiled in one
  pass, the others with :func:`.plans.normalise` and remembered shortened names;
- a shape remembers its per-page template index, so a recurring SCO costs a content lookup,
  one tuple appended and its references; a type whose contents rarely recur (processes,
  connections) is not remembered (:class:`_Store`), so it never evicts the recurring ones;
- ids that need the observation (hosted processes, anonymous SCOs, SCOs identified through
  references) are computed on demand per observation by :class:`_ObsIds`, which follows
  ``occurrences._Ids`` to the letter: an SCO identified through references remembers its id per
  resolved targets, and the uuid5s of hosted processes and anonymous SCOs (unique names, so
  never worth caching) are hashed directly, the observation digest's sha1 state reused.

The table of each type is then built as :mod:`.occurrences` builds it (distinct rows ``take``-n
per occurrence, references as sparse columns, types decided by the same helper), so the types
and column order cannot drift from it.
"""

from __future__ import annotations

from hashlib import sha1
from itertools import chain
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

import orjson
import pyarrow as pa

from huntline.errors import FetchError
from huntline.fetch.base import ObservedData
from huntline.fetch.identity import (
    ID_NAMESPACE,
    ID_PROPERTIES,
    OCCURRENCE_NAMESPACE,
    SELF_CONTAINED,
    IdCache,
    asset_id,
    canonical_json,
    compact,
    identifying_properties,
    observation_digest,
)
from huntline.fetch.occurrences import (  # the table rules, shared so they cannot drift
    _array,
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
    nested_row,
    normalise,
    shortened,
)

__all__ = ["page_occurrences"]

_REF_SUFFIXES = ("_ref", "_refs")
_OBS_NAMES = frozenset(OBSERVATION_COLUMNS)


_UNKNOWN: Any = object()
#: The 17th hex digit of a uuid5 (its variant bits) by the sha1 digit it replaces.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_MEMO_SIZE = 256
#: The sha1 state after a hosted process's uuid5 namespace and name up to its value.
_HOSTED_PREFIX = sha1(ID_NAMESPACE + b'{"x_unique_id":')


def _uuid5(data: bytes, prefix: Any = None) -> str:
    """``identity.uuid5`` of namespace + name given as one ``data`` (after the sha1 state of
    ``prefix``, a shared start, when given), computed on the hex text."""
    if prefix is None:
        h = sha1(data).hexdigest()
    else:
        state = prefix.copy()
        state.update(data)
        h = state.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class _GeneralId:
    """How a GENERAL shape's id is found: its identifying properties as computed without the
    observation (references as local keys), split into the fixed part and the references to
    resolve; the ids met, by resolved targets; and its id as a reference target."""

    __slots__ = ("free_id", "memo", "refs", "static")

    def __init__(self, context_free: dict[str, Any]) -> None:
        self.static = {p: v for p, v in context_free.items() if not p.endswith("_ref")}
        self.refs = tuple((p, v) for p, v in context_free.items() if p.endswith("_ref"))
        self.memo: dict[tuple[str | None, ...], str] = {}
        self.free_id: Any = _UNKNOWN


class _Shape:
    """What every occurrence of one SCO content shares: a :class:`.plans.Plan` (``row`` None:
    flatten it the general way each time), plus the page it was last met in, its template
    index and its type's columns there, and whether its column order was noted."""

    __slots__ = (
        "columns",
        "general",
        "kind",
        "ordered",
        "page",
        "pid",
        "ref_lists",
        "refs",
        "row",
        "rows",
        "sco_type",
        "sid",
        "template",
    )

    def __init__(
        self,
        sco_type: str,
        row: dict[str, Any] | None,
        columns: tuple[str, ...],
        refs: tuple[tuple[str, Any], ...],
        ref_lists: tuple[tuple[str, list[Any]], ...],
    ) -> None:
        self.sco_type = sco_type
        self.row = row
        self.columns = columns
        self.refs = refs
        self.ref_lists = ref_lists
        self.kind = GENERAL
        self.sid: str | None = None
        self.pid: Any = None
        self.general: _GeneralId | None = None
        self.page: object = None
        self.ordered: object = None
        self.template = 0
        self.rows: _Columns | None = None


class _Store:
    """Shapes by SCO content, per :class:`IdCache` (bounded like its plans).

    A type whose contents rarely recur (processes with their pids, connections with their
    ports) is *volatile*: its new contents are not remembered, which would only evict the
    recurring ones (``misses``/``hits`` per type decide). (Compiling them without a lookup
    was tried: slower, as the recurring ones, e.g. parent processes, then compile each time.)
    """

    __slots__ = ("hits", "misses", "shapes", "size", "volatile")

    def __init__(self, size: int) -> None:
        self.shapes: dict[bytes, _Shape] = {}
        self.size = size
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}
        self.volatile: set[str] = set()

    def learn(self, sco_type: str, hit: bool) -> None:
        """Count a lookup of ``sco_type``; every 1,024 lookups decide whether it is volatile."""
        counts = self.hits if hit else self.misses
        counts[sco_type] = counts.get(sco_type, 0) + 1
        hits, misses = self.hits.get(sco_type, 0), self.misses.get(sco_type, 0)
        if hits + misses >= 1024:
            if misses > 3 * hits:
                self.volatile.add(sco_type)
            else:
                self.volatile.discard(sco_type)
            self.hits[sco_type] = self.misses[sco_type] = 0


_STORES: WeakKeyDictionary[IdCache, _Store] = WeakKeyDictionary()


def _store(cache: IdCache) -> _Store:
    store = _STORES.get(cache)
    if store is None:
        store = _STORES[cache] = _Store(cache.plan_size)
    return store


def _no_target(key: str) -> str:  # pragma: no cover - self-contained types have no references
    raise AssertionError(key)


_NOT_PLAIN, _SKIP, _REF, _REFS, _VALUE = range(5)
_NAME_KINDS: dict[str, int] = {}


def _name_kind(name: str) -> int:
    """What a plain SCO's top-level ``name`` becomes (remembered: names recur)."""
    kind = _NAME_KINDS.get(name)
    if kind is None:
        if "-" in name or len(name) > 48 or name == "extensions":
            kind = _NOT_PLAIN  # quoted, shortened or nested: the general rules
        elif name in SKIPPED or name in _OBS_NAMES:
            kind = _SKIP  # the observation's own first/last/number win
        elif name.endswith("_ref"):
            kind = _REF
        elif name.endswith("_refs"):
            kind = _REFS
        else:
            kind = _VALUE
        if len(_NAME_KINDS) >= 10_000:
            _NAME_KINDS.clear()
        _NAME_KINDS[name] = kind
    return kind


def _compile(sco: dict[str, Any], cache: IdCache) -> _Shape:
    """The shape of ``sco``: :func:`.plans.make_plan`'s result, in one pass for plain SCOs."""
    sco_type = sco["type"]
    row: dict[str, Any] = {}
    columns: list[str] = []
    refs: list[tuple[str, Any]] = []
    ref_lists: list[tuple[str, list[Any]]] = []
    kinds = _NAME_KINDS
    for name, value in sco.items():
        value_type = type(value)
        kind = kinds.get(name)
        if kind is None:
            kind = _name_kind(name)
        if value_type is dict or kind == _NOT_PLAIN:
            return _compile_nested(sco, cache)
        if kind == _VALUE:
            row[name] = json_text(value) if value_type is list else value
        elif kind == _REF:
            refs.append((name, value))
        elif kind == _REFS:
            ref_lists.append((name, value if isinstance(value, list) else [value]))
        else:
            continue
        columns.append(name)
    shape = _Shape(sco_type, row, tuple(columns), tuple(refs), tuple(ref_lists))
    # the id, as plans._plan_id decides it (a plain SCO has no hashes dict, no extensions)
    if sco_type in SELF_CONTAINED:
        contrib = {p: sco[p] for p in ID_PROPERTIES[sco_type] if p != "hashes" and p in sco}
        if contrib:
            shape.kind, shape.sid = FIXED, cache.id_for(sco_type, contrib)
        else:
            shape.kind = ANONYMOUS
    elif sco_type == "process":
        if "x_unique_id" in sco:
            contrib = {"x_unique_id": sco["x_unique_id"]}
            shape.kind, shape.sid = FIXED, cache.id_for(sco_type, contrib)
        else:
            shape.kind, shape.pid = HOSTED, sco.get("pid")
    elif sco_type not in ID_PROPERTIES:
        shape.kind = ANONYMOUS
    else:
        props = ID_PROPERTIES[sco_type]
        shape.general = _GeneralId({p: sco[p] for p in props if p != "hashes" and p in sco})
    return shape


_SHORT_NAMES: dict[str, str] = {}


def _compile_nested(sco: dict[str, Any], cache: IdCache) -> _Shape:
    """:func:`.plans.make_plan` for an SCO that is not plain: its flattening (with
    :func:`.plans.normalise`, names shortened as :func:`.plans.shortened` does, remembered) and
    its id decided as ``plans._plan_id`` decides it."""
    sco_type = sco["type"]
    flat: dict[str, Any] = {}
    normalise(sco, "", flat, top=True)
    short: dict[str, Any] = {}
    names = _SHORT_NAMES
    collided = False
    for name, value in flat.items():
        found = names.get(name)
        if found is None:
            if len(names) >= 10_000:
                names.clear()
            found = names[name] = shortened(name)
        if found in short:
            collided = True  # flattened the general way, every time
            break
        short[found] = value
    if collided:
        shape = _Shape(sco_type, None, (), (), ())
    else:
        row: dict[str, Any] = {}
        refs: list[tuple[str, Any]] = []
        ref_lists: list[tuple[str, list[Any]]] = []
        for name, value in short.items():
            if name.endswith("_ref"):
                refs.append((name, value))
            elif name.endswith("_refs"):
                ref_lists.append((name, value if isinstance(value, list) else [value]))
            elif name not in _OBS_NAMES:
                kind = type(value)
                row[name] = json_text(value) if kind is list or kind is dict else value
        columns = tuple(n for n in short if n not in _OBS_NAMES)
        shape = _Shape(sco_type, row, columns, tuple(refs), tuple(ref_lists))
    if sco_type in SELF_CONTAINED or sco_type == "process":
        contrib = identifying_properties(sco, None, None, _no_target)
        if contrib:
            shape.kind, shape.sid = FIXED, cache.id_for(sco_type, contrib)
        elif sco_type == "process":
            shape.kind, shape.pid = HOSTED, sco.get("pid")
        else:
            shape.kind = ANONYMOUS
    elif sco_type not in ID_PROPERTIES:
        shape.kind = ANONYMOUS
    else:
        shape.general = _GeneralId(identifying_properties(sco, None, None, _no_target))
    return shape


class _Columns:
    """One type's occurrences in one page, column-wise (see ``occurrences._TypeRows``)."""

    __slots__ = ("entries", "orders", "refs", "templates")

    def __init__(self) -> None:
        self.templates: list[dict[str, Any]] = []
        #: per occurrence: (id, observation index, number_observed, template index)
        self.entries: list[tuple[str, int, Any, int]] = []
        self.refs: dict[str, tuple[list[int], list[str]]] = {}
        self.orders: dict[Any, tuple[str, ...]] = {}

    def table(self, moments: dict[str, list[Any]]) -> pa.Table:
        """The table; ``moments`` holds the page's first/last_observed by observation."""
        count = len(self.entries)
        ids, obs, counts, template_of = (list(c) for c in zip(*self.entries, strict=True))
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        if any(self.templates):
            base = rows_to_table(self.templates)
            if template_of != list(range(len(self.templates))):
                base = base.take(pa.array(template_of, pa.int32()))
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
        arrays.append(_array(ids))
        pick = itemgetter(*obs)
        for name in OBSERVATION_COLUMNS[:2]:
            names.append(name)
            picked = pick(moments[name])
            arrays.append(_array(list(picked) if count > 1 else [picked]))
        names.append("number_observed")
        arrays.append(_array(counts))
        return pa.table(arrays, names=names)


def page_occurrences(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
    """The occurrences in ``observed``, one table per SCO type, in observation order: the same
    tables as :func:`.occurrences.occurrence_tables`.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    with _collector_paused():
        types = _collect(observed, ids)
        moments = {name: [o.get(name) for o in observed] for name in OBSERVATION_COLUMNS[:2]}
        return {name: rows.table(moments) for name, rows in types.items()}


def _collect(observed: list[ObservedData], cache: IdCache) -> dict[str, _Columns]:
    store = _store(cache)
    shapes = store.shapes
    volatile = store.volatile
    learn = store.learn
    limit = store.size
    dumps = orjson.dumps
    page = object()  # marks the shapes met in this page
    met: list[_Shape] = []  # to drop their hold on this page's columns at the end
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
            if not isinstance(sco, dict):
                continue
            sco_type = sco.get("type")
            if not isinstance(sco_type, str):
                continue
            try:
                content = dumps(sco)
            except TypeError:  # integers beyond 64 bits: not cached
                shape = _compile(sco, cache)
            else:
                found = shapes.get(content)
                if found is None:
                    shape = _compile(sco, cache)
                    learn(sco_type, False)
                    if sco_type not in volatile:
                        if len(shapes) >= limit:
                            shapes.clear()  # bounded memory; a miss costs one compile
                        shapes[compact(content)] = shape
                else:
                    shape = found
                    if found.page is not page:
                        learn(sco_type, True)
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
            if shape.page is page:
                rows = shape.rows
                assert rows is not None
            else:
                rows = types.get(shape.sco_type)
                if rows is None:
                    rows = types[shape.sco_type] = _Columns()
                shape.page = page
                shape.rows = rows
                met.append(shape)
                if shape.row is not None:
                    shape.template = len(rows.templates)
                    rows.templates.append(shape.row)
            entries = rows.entries
            position = len(entries)
            number = 0 if sid in seen else count
            seen.add(sid)
            if shape.row is None:
                entries.append((sid, index, number, len(rows.templates)))
                if resolver is None:
                    resolver = _ObsIds(obs, objects, cache, local, known)
                _general(rows, position, objects[key], key, objects, resolver)
                continue
            entries.append((sid, index, number, shape.template))
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
    for shape in met:
        shape.rows = None
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
    rows.templates.append(template)  # its index is in the occurrence's entry
    order = tuple(n for n in row if n not in _OBS_NAMES)
    rows.orders.setdefault(order, order)


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
        self._digest: Any = None  # the sha1 state after namespace + observation digest
        self._asset: Any = _UNKNOWN

    def of(self, key: str) -> str:
        found = self.known.get(key)
        if found is not None:
            return found
        shape = self.shapes.get(key)
        if shape is None:  # not an SCO: only reached as a reference target
            found = self._unshaped(key)
        else:
            kind = shape.kind
            if kind == ANONYMOUS:
                found = self._anonymous(shape.sco_type, key)
            elif kind == HOSTED:
                found = self._hosted(shape, key)
            elif kind == FIXED:
                found = shape.sid
                assert found is not None
            else:
                found = self._general(shape, key)
        self.known[key] = found
        return found

    def _hosted(self, shape: _Shape, key: str) -> str:
        """A process without a unique id: ``<pid>_<host>_<last_observed>`` (``id_for``'s
        name, built directly: these ids are unique, so not worth caching)."""
        if self._asset is _UNKNOWN:
            self._asset = asset_id(self.objects)
        pid, asset = shape.pid, self._asset
        if not (pid and asset):
            return self._anonymous("process", key)
        unique = f"{pid}_{asset}_{self.obs.get('last_observed')}"
        try:
            text = orjson.dumps(unique).replace(b"/", b"\\/")
        except TypeError:  # pragma: no cover - a lone surrogate; canonical_json's fallback
            return "process--" + _uuid5(ID_NAMESPACE + canonical_json({"x_unique_id": unique}))
        return "process--" + _uuid5(text + b"}", _HOSTED_PREFIX)

    def _general(self, shape: _Shape, key: str) -> str:
        """An SCO identified through its references' targets (file, network-traffic, ...)."""
        general = shape.general
        assert general is not None
        objects = self.objects
        resolved: list[str | None] = []
        for _, value in general.refs:
            if isinstance(value, str) and isinstance(objects.get(value), dict) and objects[value]:
                resolved.append(self._target(value))
            else:
                resolved.append(None)
        memo_key = tuple(resolved)
        memo = general.memo
        found = memo.get(memo_key)
        if found is not None:
            return found
        contrib = dict(general.static)
        for (prop, _), target in zip(general.refs, resolved, strict=True):
            if target is not None:
                contrib[prop] = target
        if not contrib:
            return self._anonymous(shape.sco_type, key)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        found = memo[memo_key] = self.cache.id_for(shape.sco_type, contrib)
        return found

    def _unshaped(self, key: str) -> str:
        sco = self.objects[key]
        if sco["type"] in SELF_CONTAINED:  # pragma: no cover - an SCO, so it has a shape
            raise AssertionError(key)
        last = self.obs.get("last_observed")
        contrib = identifying_properties(sco, self.objects, last, self._target)
        return self._id(sco["type"], key, contrib)

    def _target(self, key: str) -> str:
        """A reference target's id the way firepit computes it: without the observation."""
        shape = self.shapes.get(key)
        if shape is not None:
            kind = shape.kind
            if kind == FIXED:
                return shape.sid  # type: ignore[return-value]
            if kind != GENERAL:
                return self.of(key)
            general = shape.general
            assert general is not None
            if general.free_id is _UNKNOWN:
                contrib = {**general.static, **dict(general.refs)}
                general.free_id = self.cache.id_for(shape.sco_type, contrib) if contrib else None
            return general.free_id if general.free_id is not None else self.of(key)
        sco = self.objects[key]
        contrib = identifying_properties(sco, None, None, self._target)
        return self._id(sco.get("type", ""), key, contrib) if contrib else self.of(key)

    def _id(self, sco_type: str, key: str, contrib: dict[str, Any]) -> str:
        if contrib:
            return self.cache.id_for(sco_type, contrib)
        return self._anonymous(sco_type, key)

    def _anonymous(self, sco_type: str, key: str) -> str:
        """``identity.occurrence_id``: from the observation's content and the SCO's key."""
        prefix = self._digest
        if prefix is None:
            prefix = self._digest = sha1(OCCURRENCE_NAMESPACE + observation_digest(self.obs))
        return f"{sco_type}--{_uuid5(key.encode(), prefix)}"
