"""The C collector (``_occurrences.c``), configured with the rules' tables, or None.

:mod:`.collect` hands each page to :func:`collector` first. The C code flattens the SCOs that
are plain (or whose only nested dict is ``hashes``) and computes every id; an SCO it does not
flatten itself (an object path written as a key, say) is planned here, by :func:`shape_parts`,
with :func:`.plans.make_plan`, the reference's own rule, so the rules are written once in
Python. Identity's tables and its Python serialisers are passed in, so the C code holds no copy
of them.

The module is optional: without a C compiler at install time huntline flattens with the
reference rules (:mod:`.rules`, about a quarter of the speed) and logs a warning saying so
(``tests/unit/fetch/test_native_vs_reference.py`` checks the C tables against the reference's).
In a source checkout, a build older than its sources is not used (a warning says so too): a
stale build would silently run old rules.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

from huntline.fetch import tally
from huntline.fetch.stix.coerce import INTEGER_PROPERTIES
from huntline.fetch.stix.identity import (
    ID_NAMESPACE,
    ID_PROPERTIES,
    OCCURRENCE_NAMESPACE,
    PREFERRED_HASHES,
    PROCESS_UNIQUE_ID_KEYS,
    SELF_CONTAINED,
    IdCache,
    canonical_json,
    observation_digest,
)
from huntline.fetch.stix.plans import (
    GENERAL,
    OBSERVATION_COLUMNS,
    SKIPPED,
    context_free_properties,
    json_text,
    make_plan,
)

__all__ = ["NativeColumns", "collector", "shape_parts"]

log = logging.getLogger(__name__)

#: One type's columns from the C collector: names in first-seen order; by name, the values
#: present and the occurrences (native int32 row numbers) they belong to; then per occurrence
#: its id, its observation's index in the page (native int32s) and its count.
NativeColumns = tuple[
    list[str], dict[str, tuple[list[Any], bytearray]], list[str], bytearray, list[Any]
]

#: How a flattened entry is used (``_occurrences.c``'s ROLE_*).
VALUE, REF, REFS = range(3)

_SOURCES = [Path(__file__).with_name("_occurrences.c")]


def shape_parts(
    sco: dict[str, Any], cache: IdCache
) -> tuple[list[tuple[str, Any, int]], int, str | None, Any, list[tuple[str, Any]] | None] | None:
    """An SCO the C code does not flatten, as :func:`.plans.make_plan` plans it:
    ``(entries in column order, id kind, id, pid, identifying properties)``, or None when its
    columns collide after shortening (the C code then hands the page back)."""
    plan = make_plan(sco, cache)
    for name in plan.coerced:  # called once per occurrence: counted here
        tally.count(f"{plan.sco_type}.{name}")
    if plan.row is None:
        return None
    refs, ref_lists = dict(plan.refs), dict(plan.ref_lists)
    entries = []
    for name in plan.columns:
        if name in plan.row:
            entries.append((name, plan.row[name], VALUE))
        elif name in refs:
            entries.append((name, refs[name], REF))
        else:
            entries.append((name, ref_lists[name], REFS))
    # a GENERAL id is found per observation, from these with the references resolved
    pairs = list(context_free_properties(plan.sco or sco).items()) if plan.kind == GENERAL else None
    return entries, plan.kind, plan.sid, plan.pid, pairs


def collector() -> ModuleType | None:
    """The configured C module, or None when it is not built or older than its source."""
    try:
        module = importlib.import_module("huntline.fetch.stix._occurrences")
    except ImportError:
        _without("is not built (it needs gcc, the Python headers and libssl-dev at install time)")
        return None
    built = Path(module.__file__ or "")
    for source in _SOURCES:
        if source.exists() and built.exists() and built.stat().st_mtime < source.stat().st_mtime:
            _without(
                f"is not used: {built.name} is older than {source.name} "
                "(rebuild it: pip install --no-deps -e .)"
            )
            return None
    module.configure(
        id_properties=ID_PROPERTIES,
        self_contained=SELF_CONTAINED,
        preferred_hashes=PREFERRED_HASHES,
        observation_names=frozenset(OBSERVATION_COLUMNS),
        skipped=SKIPPED,
        id_namespace=ID_NAMESPACE,
        occurrence_namespace=OCCURRENCE_NAMESPACE,
        shape_parts=shape_parts,
        canonical_json=canonical_json,
        json_text=json_text,
        observation_digest=observation_digest,
        unique_id_keys=PROCESS_UNIQUE_ID_KEYS,
        integer_properties=INTEGER_PROPERTIES,
        note=tally.count,
    )
    return module


def _without(reason: str) -> None:
    """Say why flattening is slower than it could be."""
    log.warning(
        "huntline's C collector %s; flattening STIX with the Python rules, about 4x slower",
        reason,
    )
