"""One page of observed-data -> one Arrow table of SCO *occurrences* per type.

This is the readable statement of the rules, and what the fetch path runs when the C collector
(:mod:`.native`) is not built or hands a page back. The C collector must return exactly the same
tables (``tests/unit/fetch/test_native_vs_reference.py`` compares the two).

An occurrence is one SCO inside one observation, already in firepit's column shape but not yet
merged with the other occurrences of the same entity (that is :mod:`.spool`' job, which sees
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

Speed: a page has ~8 SCOs per observation and most recur byte for byte, so each distinct SCO
content is flattened once (:mod:`.plans`) and each type's table is built column-wise: the
distinct flattened rows become one small Arrow table that is ``take``-n per occurrence, and only
the per-observation parts (ids, resolved references, the observation's columns) are Python lists.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, cast

import pyarrow as pa

from huntline.errors import FetchError
from huntline.fetch import tally
from huntline.fetch.base import ObservedData
from huntline.fetch.heap import collector_paused
from huntline.fetch.stix.identity import (
    SELF_CONTAINED,
    IdCache,
    asset_id,
    identifying_properties,
    observation_digest,
    occurrence_id,
)
from huntline.fetch.stix.plans import (
    ANONYMOUS,
    FIXED,
    GENERAL,
    HOSTED,
    OBSERVATION_COLUMNS,
    Plan,
    is_sco,
    json_text,
    nested_row,
    plan_for,
)

__all__ = ["OBSERVATION_COLUMNS", "json_text", "occurrence_tables", "rows_to_table", "sco_ids"]
_REF_SUFFIXES = ("_ref", "_refs")


def occurrence_tables(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
    """The occurrences in ``observed``, one table per SCO type, in observation order.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    page = _Page(ids)
    with collector_paused():
        for index, obs in enumerate(observed):
            page.add(obs, index)
        return page.tables()


class _TypeRows:
    """One type's occurrences in one page, column-wise.

    ``templates`` are the distinct flattened rows without references (one per plan, or one per
    occurrence for SCOs flattened the general way); ``template_of`` picks one per occurrence.
    ``refs`` holds each reference column sparsely: the occurrences that have it, and the values.
    ``orders`` are the column orders met, whose union in first-seen order is the table's.
    """

    __slots__ = ("counts", "ids", "index", "obs", "orders", "refs", "template_of", "templates")

    def __init__(self) -> None:
        self.templates: list[dict[str, Any]] = []
        self.index: dict[Plan, int] = {}
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
        names = [n for n in dict.fromkeys(chain.from_iterable(self.orders.values()))]
        arrays = [columns[n] for n in names]
        names.append("id")
        arrays.append(_array(self.ids))
        for name in OBSERVATION_COLUMNS[:2]:
            names.append(name)
            arrays.append(_array([observed[i].get(name) for i in self.obs]))
        names.append("number_observed")
        arrays.append(_array(self.counts))
        return pa.table(arrays, names=names)


class _Page:
    """Collects one page's occurrences by type (see :class:`_TypeRows`)."""

    def __init__(self, cache: IdCache) -> None:
        self.cache = cache
        self.observed: list[ObservedData] = []
        self.types: dict[str, _TypeRows] = {}

    def tables(self) -> dict[str, pa.Table]:
        return {name: rows.table(self.observed) for name, rows in self.types.items()}

    def add(self, obs: ObservedData, index: int) -> None:
        objects = obs.get("objects")
        if not isinstance(objects, dict) or not isinstance(obs.get("id"), str):
            raise FetchError(
                f"observed-data {obs.get('id', '(no id)')} has no embedded 'objects' mapping",
                hint="only STIX 2.0 observed-data with embedded objects can be flattened",
            )
        self.observed.append(obs)
        cache = self.cache
        plans: dict[str, Plan] = {}
        ids = _Ids(obs, objects, cache, plans)
        known = ids.known
        junk = 0
        for key, sco in objects.items():
            if isinstance(sco, dict) and isinstance(sco.get("type"), str):
                plan = plans[key] = plan_for(sco, cache)
                if plan.kind == FIXED:  # most ids: no call needed below
                    known[key] = plan.sid  # type: ignore[assignment]
                for name in plan.coerced:
                    tally.count(f"{plan.sco_type}.{name}")
            else:
                junk += 1
        if junk:
            tally.count("observed-data.objects", junk)
        count = obs.get("number_observed")
        seen: set[str] = set()
        types = self.types
        for key, plan in plans.items():
            sid = known.get(key) or ids.of(key)
            rows = types.get(plan.sco_type)
            if rows is None:
                rows = types[plan.sco_type] = _TypeRows()
            position = len(rows.ids)
            rows.ids.append(sid)
            rows.obs.append(index)
            rows.counts.append(0 if sid in seen else count)
            seen.add(sid)
            if plan.row is None:
                self._general(rows, position, plan.sco or objects[key], key, objects, ids)
                continue
            template = rows.index.get(plan)
            if template is None:
                template = rows.index[plan] = len(rows.templates)
                rows.templates.append(plan.row)
            rows.template_of.append(template)
            dropped: list[str] | None = None
            refs = rows.refs
            for name, target in plan.refs:
                if type(target) is str and target in plans:
                    _put(refs, name, position, known.get(target) or ids.of(target))
                else:  # dangling: firepit drops it
                    dropped = [*(dropped or ()), name]
            for name, targets in plan.ref_lists:
                resolved = [
                    ids.of(t) for t in targets if t != key and type(t) is str and t in plans
                ]
                if resolved:
                    _put(refs, name, position, json_text(resolved))
                else:
                    dropped = [*(dropped or ()), name]
            if dropped is None:
                if plan not in rows.orders:
                    rows.orders[plan] = plan.columns
            else:
                order = tuple(c for c in plan.columns if c not in dropped)
                rows.orders.setdefault(order, order)

    @staticmethod
    def _general(
        rows: _TypeRows,
        position: int,
        sco: dict[str, Any],
        key: str,
        objects: dict[str, Any],
        ids: _Ids,
    ) -> None:
        """An SCO whose plan has no row: flattened from scratch, its own template."""
        row = nested_row(sco, key, objects, ids.of)
        template = {}
        for name, value in row.items():
            if name.endswith(_REF_SUFFIXES):
                _put(rows.refs, name, position, value)
            elif name not in OBSERVATION_COLUMNS:
                template[name] = value
        rows.template_of.append(len(rows.templates))
        rows.templates.append(template)
        order = tuple(n for n in row if n not in OBSERVATION_COLUMNS)
        rows.orders.setdefault(order, order)


_Refs = dict[str, tuple[list[int], list[str]]]


def _put(refs: _Refs, name: str, position: int, value: str) -> None:
    entry = refs.get(name)
    if entry is None:
        entry = refs[name] = ([], [])
    entry[0].append(position)
    entry[1].append(value)


def sco_ids(obs: ObservedData, cache: IdCache | None = None) -> dict[str, str]:
    """The entity id of every SCO in one observation, by its key in ``objects``."""
    objects = obs.get("objects") or {}
    ids = _Ids(obs, objects, cache or IdCache())
    return {key: ids.of(key) for key, sco in objects.items() if is_sco(objects, key)}


_UNKNOWN = object()


class _Ids:
    """The ids of one observation's SCOs, computed on demand (references need their targets').

    With ``plans`` the content-decided ids come from them; without, every id is computed from
    the identifying properties (the reference implementation of the same rules).
    """

    __slots__ = ("_asset", "_digest", "cache", "known", "objects", "obs", "plans")

    def __init__(
        self,
        obs: ObservedData,
        objects: dict[str, Any],
        cache: IdCache,
        plans: dict[str, Plan] | None = None,
    ) -> None:
        self.obs = obs
        self.objects = objects
        self.cache = cache
        self.plans = {} if plans is None else plans
        self.known: dict[str, str] = {}
        self._digest: bytes | None = None
        self._asset: Any = _UNKNOWN

    def of(self, key: str) -> str:
        known = self.known.get(key)
        if known is not None:
            return known
        plan = self.plans.get(key)
        kind = GENERAL if plan is None else plan.kind
        if kind == FIXED:
            known = cast(str, plan.sid)  # type: ignore[union-attr]
        elif kind == HOSTED:
            if self._asset is _UNKNOWN:
                self._asset = asset_id(self.objects)
            pid, asset = plan.pid, self._asset  # type: ignore[union-attr]
            if pid and asset:
                unique = f"{pid}_{asset}_{self.obs.get('last_observed')}"
                known = self.cache.id_for("process", {"x_unique_id": unique})
            else:
                known = self._anonymous("process", key)
        elif kind == ANONYMOUS:
            known = self._anonymous(plan.sco_type, key)  # type: ignore[union-attr]
        else:
            known = self._general(key)
        self.known[key] = known
        return known

    def _sco(self, key: str) -> dict[str, Any]:
        """The SCO under ``key``, its ill-typed values fixed (:mod:`.coerce`)."""
        plan = self.plans.get(key)
        return plan.sco if plan is not None and plan.sco is not None else self.objects[key]

    def _general(self, key: str) -> str:
        sco = self._sco(key)
        content = None
        if sco["type"] in SELF_CONTAINED:  # the same address, user, host recur constantly
            import orjson

            content = orjson.dumps(sco)
            known = self.cache.by_content.get(content)
            if known is not None:
                return known
        last = self.obs.get("last_observed")
        contrib = identifying_properties(sco, self.objects, last, self._target)
        known = self._id(sco["type"], key, contrib)
        if content is not None and contrib:
            self.cache.remember(content, known)
        return known

    def _target(self, key: str) -> str:
        """A reference target's id the way firepit computes it: without the observation."""
        plan = self.plans.get(key)
        if plan is not None and plan.kind != GENERAL:
            # FIXED ids ignore the context; the others have none without it
            return plan.sid if plan.kind == FIXED else self.of(key)  # type: ignore[return-value]
        sco = self._sco(key)
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


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts that may lack keys) as a table of the union of their keys, first seen first,
    each column typed on its own by :func:`_array`, as :mod:`.collect` types the C collector's.

    (Not Arrow's struct conversion of the rows: it types a column differently from the column
    on its own, e.g. booleans then floats as float where the column alone is text.)
    """
    names = list(dict.fromkeys(chain.from_iterable(rows)))
    arrays = [_array([row.get(name) for row in rows]) for name in names]
    return pa.table(arrays, names=names)


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except UnicodeEncodeError:  # Arrow text is UTF-8, which a lone surrogate is not
        return _array([valid_text(v) if isinstance(v, str) else v for v in values])
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([text_value(v) for v in values], type=pa.large_string())


def valid_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD. Windows names are UTF-16 and may
    hold unpaired halves, which JSON carries as ``\\udXXX`` escapes and Python's ``json``
    decodes as they are; a surrogate pair split in two escapes becomes its one character."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def text_value(value: Any) -> str | None:
    """One value of a mixed-type column as the text SQLite's TEXT affinity would give."""
    if value is None:
        return value
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
