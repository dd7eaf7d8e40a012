"""An SCO's content compiled once into a reusable :class:`Shape`, for :mod:`.collect`.

A shape is what :func:`.plans.make_plan` would make of the SCO (its flattened row without
references, its references as local keys, and its id when the content alone decides it),
built with less Python: a plain SCO (no nested dict, no name to quote or shorten; most of
them) in one pass, the others with :func:`.plans.normalise` and remembered shortened names.
Shapes are cached by the SCO's orjson bytes in a :class:`ShapeStore`, one per
:class:`.identity.IdCache`, so a recurring SCO is compiled once per spool, not once per page.

Shapes also carry per-page scratch state (:attr:`Shape.page`, :attr:`Shape.rows`, ...) that
:mod:`.collect`'s page loop reads and writes: keeping it on the shape saves a dict lookup per
occurrence, which is the point of this module.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from huntline.fetch.stix.identity import (
    ID_PROPERTIES,
    SELF_CONTAINED,
    IdCache,
    identifying_properties,
)
from huntline.fetch.stix.plans import (
    ANONYMOUS,
    FIXED,
    GENERAL,
    HOSTED,
    OBSERVATION_COLUMNS,
    SKIPPED,
    json_text,
    normalise,
    shortened,
)

__all__ = [
    "OBS_NAMES",
    "UNKNOWN",
    "GeneralId",
    "Shape",
    "ShapeStore",
    "compile_shape",
    "shape_store",
]

#: Flattened names the observation's own columns win over (first/last_observed, number).
OBS_NAMES = frozenset(OBSERVATION_COLUMNS)
#: Not computed yet (``None`` is a valid answer for the lazily computed fields).
UNKNOWN: Any = object()


class GeneralId:
    """How a GENERAL shape's id is found: its identifying properties as computed without the
    observation (references as local keys), split into the fixed part and the references to
    resolve; the ids met, by resolved targets; and its id as a reference target."""

    __slots__ = ("free_id", "memo", "refs", "static")

    def __init__(self, context_free: dict[str, Any]) -> None:
        self.static = {p: v for p, v in context_free.items() if not p.endswith("_ref")}
        self.refs = tuple((p, v) for p, v in context_free.items() if p.endswith("_ref"))
        self.memo: dict[tuple[str | None, ...], str] = {}
        self.free_id: Any = UNKNOWN


class Shape:
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
        self.general: GeneralId | None = None
        self.page: object = None
        self.ordered: object = None
        self.template = 0
        #: the page's :class:`.collect.Columns` of this type (typed Any: shapes sits below collect)
        self.rows: Any = None


class ShapeStore:
    """Shapes by SCO content, per :class:`IdCache` (bounded like its plans).

    A type whose contents rarely recur (processes with their pids, connections with their
    ports) is *volatile*: its new contents are not remembered, which would only evict the
    recurring ones (``misses``/``hits`` per type decide). (Compiling them without a lookup
    was tried: slower, as the recurring ones, e.g. parent processes, then compile each time.)
    """

    __slots__ = ("hits", "misses", "shapes", "size", "volatile")

    def __init__(self, size: int) -> None:
        self.shapes: dict[bytes, Shape] = {}
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


_STORES: WeakKeyDictionary[IdCache, ShapeStore] = WeakKeyDictionary()


def shape_store(cache: IdCache) -> ShapeStore:
    store = _STORES.get(cache)
    if store is None:
        store = _STORES[cache] = ShapeStore(cache.plan_size)
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
        elif name in SKIPPED or name in OBS_NAMES:
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


def compile_shape(sco: dict[str, Any], cache: IdCache) -> Shape:
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
    shape = Shape(sco_type, row, tuple(columns), tuple(refs), tuple(ref_lists))
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
        shape.general = GeneralId({p: sco[p] for p in props if p != "hashes" and p in sco})
    return shape


_SHORT_NAMES: dict[str, str] = {}


def _compile_nested(sco: dict[str, Any], cache: IdCache) -> Shape:
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
        shape = Shape(sco_type, None, (), (), ())
    else:
        row: dict[str, Any] = {}
        refs: list[tuple[str, Any]] = []
        ref_lists: list[tuple[str, list[Any]]] = []
        for name, value in short.items():
            if name.endswith("_ref"):
                refs.append((name, value))
            elif name.endswith("_refs"):
                ref_lists.append((name, value if isinstance(value, list) else [value]))
            elif name not in OBS_NAMES:
                kind = type(value)
                row[name] = json_text(value) if kind is list or kind is dict else value
        columns = tuple(n for n in short if n not in OBS_NAMES)
        shape = Shape(sco_type, row, columns, tuple(refs), tuple(ref_lists))
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
        shape.general = GeneralId(identifying_properties(sco, None, None, _no_target))
    return shape
