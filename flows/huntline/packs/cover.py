"""The pack's one fetch: the OR of its members' patterns, or every entity of the type.

A pack fetches once per window with a pattern that covers every member, and each member's own
pattern then selects its rows locally (:mod:`huntline.patterns`). The covering pattern is one
of two:

- **the OR of the members' patterns**, as comparison expressions inside one observation
  (``[(a) OR (b) OR ...]``), split into queries of at most :data:`CHUNK` members. Used for
  stix-shifter profiles (a SIEM or EDR that filters on its side, so rows no member wants are
  never transferred) when every member is *safe* (below);
- **every entity of the type** (:func:`~huntline.book.observables.every_entity_pattern`): for
  the bundle sources (``file://``, ``http(s)://``), which read the whole bundle whatever the
  pattern and would evaluate the OR over every observation only to have each member evaluate
  its own part again; and as the fallback when a member is not safe or the pack has more than
  :data:`MAX_OR_MEMBERS` members.

A member is *safe* to OR when its pattern evaluates locally, compares only properties of the
pack's entity, has no START/STOP of its own (the window's applies to the whole query), no
``{{ intel.* }}`` template, and is not itself "every entity". Then the OR's rows are a
superset of each member's own fetch: a row the member's pattern matches matches one disjunct
of the OR, and the source keeps each row whose observation satisfies any disjunct
(``[a] OR [b]`` and ``[a OR b]`` select the same observations when every comparison is on one
SCO type). tests/unit/packs/test_cover.py checks every member's rows are the same either way.

Why these numbers (``python bench/pack_cover.py``, stix-shifter 8.1.3, the 913 Sigma
``windows/process_creation`` rules that convert, 2.6 comparisons each; CPU of one
``translate`` of the OR with a one-hour START/STOP; 2026-12-07):

=======  ==========================  ======================
members  elastic_ecs                 mysql
=======  ==========================  ======================
10       0.04 s, 1 query, 3 KB       0.01 s, 1 query
100      0.20 s, 1 query, 34 KB      0.29 s, 1 query
200      0.14 s, 1 query, 69 KB      0.13 s, 1 query
400      0.32 s, 1 query, 133 KB     0.28 s, 1 query
450      0.61 s, 1 query, 189 KB     0.58 s, 1 query
500      RecursionError              RecursionError
913      RecursionError              RecursionError
=======  ==========================  ======================

The cost stays under a second and grows about linearly, then translation fails outright
between 450 and 500 members (Python's recursion limit in stix-shifter's pattern parser), so the
OR is split into chunks of :data:`CHUNK` members, well under the failure (and 69 KB of
Elasticsearch query, about 520 clauses, under its default limit of 1,024). ORed as
observations (``[a] OR [b]``) instead, elastic_ecs makes one native query per member (100
searches for 100 members), hence one observation. Each chunk is one query, run one after the
other; the rows of all chunks merge into one table (an entity two chunks match is one row).
Above :data:`MAX_OR_MEMBERS` (5 queries) the pack pulls every entity instead: a
bound chosen, not measured against a live SIEM (a round trip's cost depends on the source).

A limit: under ``OR`` stix-shifter's connectors drop a comparison they cannot map (mysql maps
no ``command_line``: its OR of 200 Sigma patterns is 2 KB). A member none of whose comparisons
map would fail alone with a mapping error; in the OR its part is dropped, and its rows come
only where other members' parts fetch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from huntline.book.observables import every_entity_pattern
from huntline.errors import PatternError
from huntline.fetch.sources.pattern import observation_spans
from huntline.intel.template import placeholders
from huntline.patterns import compile_pattern
from huntline.schemes import scheme_of

__all__ = ["CHUNK", "MAX_OR_MEMBERS", "Cover", "covering_fetch", "or_pattern"]

#: Members per query of the OR (translation failed at 913 members on both connectors).
CHUNK = 200
#: Above this many members a pack pulls every entity instead of ORing.
MAX_OR_MEMBERS = 1000
OR, EVERY = "or", "every entity"
#: Sources that read a whole bundle whatever the pattern (the pattern only filters locally).
_BUNDLE_SCHEMES = frozenset({"file", "http", "https"})


@dataclass(frozen=True)
class Cover:
    """The covering fetch: ``kind`` (``or`` or ``every entity``), its pattern (``where``,
    what the fetched rows satisfy), the queries sent for it, and why this kind."""

    kind: str
    where: str
    queries: tuple[str, ...]
    reason: str


def covering_fetch(entity: str, source: str, members: Sequence[tuple[str, str]]) -> Cover:
    """The fetch covering ``members`` (``(name, pattern)`` each) of ``entity`` from
    ``source``."""
    patterns = [pattern for _, pattern in members]
    every = every_entity_pattern(entity)
    if scheme_of(source) in _BUNDLE_SCHEMES:
        why = f"{source} is read whole whatever the pattern; each member selects its own rows"
        return Cover(EVERY, every, (every,), why)
    if len(patterns) > MAX_OR_MEMBERS:
        why = f"{len(patterns)} members, more than {MAX_OR_MEMBERS} to OR"
        return Cover(EVERY, every, (every,), why)
    for name, pattern in members:
        unsafe = _unsafe(entity, pattern)
        if unsafe is not None:
            return Cover(EVERY, every, (every,), f"the pattern of {name} {unsafe}")
    distinct = list(dict.fromkeys(patterns))  # the same pattern twice is one disjunct
    queries = tuple(or_pattern(distinct[at : at + CHUNK]) for at in range(0, len(distinct), CHUNK))
    why = f"the OR of {len(patterns)} members' patterns in {len(queries)} queries"
    return Cover(OR, " OR ".join(queries), queries, why)


def _unsafe(entity: str, pattern: str) -> str | None:
    """Why ``pattern`` cannot be ORed into a covering fetch, or None."""
    if pattern == every_entity_pattern(entity):
        return "is every entity of the type"
    if placeholders(pattern):
        return "is an intel template, filled per run"
    try:
        parsed = compile_pattern(pattern)
    except PatternError as error:
        return f"does not evaluate locally: {error.message}"
    if parsed.types != {entity}:
        return f"compares {', '.join(sorted(parsed.types))} properties, not only {entity}'s"
    if any(o.start is not None or o.stop is not None for o in parsed.parsed.observations):
        return "has a START/STOP of its own"
    return None


def or_pattern(patterns: Sequence[str]) -> str:
    """One observation expression ORing the comparison expressions of ``patterns``, each an
    OR of observation expressions without qualifiers (``[a] OR [b]``, ``[c]`` ->
    ``[(a) OR (b) OR (c)]``)."""
    parts = [
        pattern[start + 1 : end - 1].strip()
        for pattern in patterns
        for start, end in observation_spans(pattern)
    ]
    return "[" + " OR ".join(f"({part})" for part in parts) + "]"
