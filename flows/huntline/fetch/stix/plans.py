"""One SCO's flattening, worked out once per distinct SCO content and then reused.

The same file, user, address or host recurs in thousands of observations, byte for byte, and
flattening it (quoting, dotted paths, JSON text for lists) gives the same columns every time.
Only two things depend on the observation around it: the ids its ``*_ref``/``*_refs`` point at
(the targets are keys of that observation's ``objects``) and, for some SCOs, its own id. A
:class:`Plan` therefore holds the flattened columns *without* the references (``row``), the
references as the local keys they name, and the id when the content alone decides it; the
occurrence builder (:mod:`.rules`) then only resolves references per observation.

The flattening rules are :mod:`.rules`' (firepit's); this module only applies them.
A plan whose columns would collide after shortening (two names shortened to one) keeps
``row = None``, and such an SCO is flattened the general way in every observation, so the
"later one wins" rule never depends on which references resolve.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from huntline.fetch.stix.coerce import coerced
from huntline.fetch.stix.identity import (
    ID_PROPERTIES,
    SELF_CONTAINED,
    IdCache,
    compact,
    identifying_properties,
    is_sco,
)

OBSERVATION_COLUMNS = ("first_observed", "last_observed", "number_observed")
#: The observed-data property naming its data source (stamped by :mod:`.multi`), carried per
#: occurrence and merged into the sorted distinct names, comma-separated.
SOURCE_COLUMN = "x_datasource"
SKIPPED = frozenset(("type", "spec_version", "id"))
_SHORTEN = re.compile(r"^extensions\.'(x-)?[\w-]+'\.")

#: How a plan's SCO gets its id.
FIXED, ANONYMOUS, HOSTED, GENERAL = range(4)


class Plan:
    """What every occurrence of one SCO content shares (see the module docstring).

    Attributes:
        sco_type: The SCO's ``type``.
        row: Its flattened non-reference columns, or None: flatten it the general way each time.
        columns: Every column name in row order, references included (for column order).
        refs: ``(column, local key)`` of each ``*_ref``.
        ref_lists: ``(column, local keys)`` of each ``*_refs``.
        kind: How the id is found: FIXED (``sid``), ANONYMOUS (per occurrence), HOSTED
            (a process's ``<pid>_<host>_<last_observed>``, ``pid`` below) or GENERAL.
        coerced: The integer properties whose values did not fit (:mod:`.coerce`), and
            ``sco``: the SCO with them fixed (None when nothing was).
    """

    __slots__ = (
        "coerced",
        "columns",
        "kind",
        "pid",
        "ref_lists",
        "refs",
        "row",
        "sco",
        "sco_type",
        "sid",
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
        self.coerced: tuple[str, ...] = ()
        self.sco: dict[str, Any] | None = None


def plan_for(sco: dict[str, Any], cache: IdCache) -> Plan:
    """The plan of ``sco`` (a dict with a string ``type``), from ``cache`` when seen before."""
    try:
        content = orjson.dumps(sco)
    except TypeError:  # integers beyond 64 bits: not cached
        return make_plan(sco, cache)
    plans = cache.plans
    found = plans.get(content)
    if found is None:
        if len(plans) >= cache.plan_size:
            plans.clear()  # bounded memory; a miss only costs one flattening
        found = plans[compact(content)] = make_plan(sco, cache)
    return found


def make_plan(sco: dict[str, Any], cache: IdCache) -> Plan:
    plan = Plan(sco["type"])
    fixed = coerced(sco)
    if fixed is not None:
        sco, plan.coerced = fixed
        plan.sco = sco
    _plan_id(plan, sco, cache)
    flat = _plain(sco)
    if flat is None:
        flat = {}
        normalise(sco, "", flat, top=True)
        short: dict[str, Any] = {}
        for name, value in flat.items():
            name = shortened(name)
            if name in short:
                return plan  # a collision: the general way, every time
            short[name] = value
        flat = short
    row: dict[str, Any] = {}
    refs, ref_lists = [], []
    for name, value in flat.items():
        if name.endswith("_ref"):
            refs.append((name, value))
        elif name.endswith("_refs"):
            ref_lists.append((name, value if isinstance(value, list) else [value]))
        elif name not in OBSERVATION_COLUMNS:  # the observation's own values win
            kind = type(value)
            row[name] = json_text(value) if kind is list or kind is dict else value
    plan.row = row
    plan.columns = tuple(n for n in flat if n not in OBSERVATION_COLUMNS)
    plan.refs = tuple(refs)
    plan.ref_lists = tuple(ref_lists)
    return plan


def _plan_id(plan: Plan, sco: dict[str, Any], cache: IdCache) -> None:
    """Decide what the id depends on; compute it now when the content alone decides it."""
    sco_type = plan.sco_type
    if sco_type in SELF_CONTAINED:
        contrib = context_free_properties(sco)
        if contrib:
            plan.kind, plan.sid = FIXED, cache.id_for(sco_type, contrib)
        else:
            plan.kind = ANONYMOUS
    elif sco_type == "process":
        contrib = context_free_properties(sco)
        if contrib:  # x_unique_id, or a unique id in an extension
            plan.kind, plan.sid = FIXED, cache.id_for(sco_type, contrib)
        else:
            plan.kind, plan.pid = HOSTED, sco.get("pid")
    elif sco_type not in ID_PROPERTIES:
        plan.kind = ANONYMOUS


def shortened(name: str) -> str:
    """A column under ``extensions.'<name>'.`` as firepit shortens it: ``x_<rest>``."""
    if len(name) > 48 or "extensions." in name:
        return _SHORTEN.sub("x_", name)
    return name


def context_free_properties(sco: dict[str, Any]) -> dict[str, Any]:
    """``sco``'s identifying properties as its content gives them, without the observation:
    a ``*_ref`` stays the local key it names (see :func:`.identity.identifying_properties`)."""
    return identifying_properties(sco, None, None, _no_target)


def _no_target(key: str) -> str:  # pragma: no cover - without objects no target is looked up
    raise AssertionError(key)


def _plain(sco: dict[str, Any]) -> dict[str, Any] | None:
    """``sco`` without the skipped keys when no name needs quoting, shortening or nesting."""
    for name, value in sco.items():
        if "-" in name or len(name) > 48 or name == "extensions" or type(value) is dict:
            return None
    return {name: value for name, value in sco.items() if name not in SKIPPED}


def normalise(obj: dict[str, Any], prefix: str, out: dict[str, Any], *, top: bool = False) -> None:
    """firepit's flattening of one (nested) dict into dotted, quoted column names."""
    otype = obj.get("type", "")
    for key, value in obj.items():
        if top and key in SKIPPED:
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
            normalise(value, name, out)
        else:
            out[name] = value


def _set_ref(
    row: dict[str, Any], name: str, objects: dict[str, Any], of: Callable[[str], str]
) -> None:
    if is_sco(objects, row[name]):
        row[name] = of(row[name])
    else:
        del row[name]  # dangling: firepit drops it


def _set_ref_list(
    row: dict[str, Any], name: str, key: str, objects: dict[str, Any], of: Callable[[str], str]
) -> None:
    value = row[name]
    targets = value if isinstance(value, list) else [value]
    resolved = [of(t) for t in targets if t != key and is_sco(objects, t)]
    if resolved:
        row[name] = json_text(resolved)
    else:
        del row[name]


def nested_row(
    sco: dict[str, Any], key: str, objects: dict[str, Any], of: Callable[[str], str]
) -> dict[str, Any]:
    """The general case: nested dicts, quoted and shortened names, resolved references."""
    flat: dict[str, Any] = {}
    normalise(sco, "", flat, top=True)
    row: dict[str, Any] = {}
    for name, value in flat.items():
        row[name] = value
        if name.endswith("_ref"):
            _set_ref(row, name, objects, of)
        elif name.endswith("_refs"):
            _set_ref_list(row, name, key, objects, of)
        if name not in row:
            continue
        value = row.pop(name)
        name = shortened(name)
        kind = type(value)
        row[name] = json_text(value) if kind is list or kind is dict else value
    return row


def json_text(value: Any) -> str:
    """A list or dict as firepit stores it: ujson's compact text, ``/`` escaped as ``\\/``."""
    try:
        return orjson.dumps(value).replace(b"/", b"\\/").decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


__all__ = [
    "Plan",
    "context_free_properties",
    "is_sco",
    "json_text",
    "make_plan",
    "nested_row",
    "normalise",
    "plan_for",
    "shortened",
]
