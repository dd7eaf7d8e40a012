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

What each connector maps (:mod:`huntline.fetch.sources.reach`). Under ``OR`` stix-shifter's
connectors strip a comparison they cannot map and say nothing (mysql maps no
``command_line``: its OR of 200 Sigma patterns is 2 KB), so a member's part could vanish from
the OR where alone the member would fail, or fetch less. For a stix-shifter source the pack
therefore decides per member, with the connector's own mapping, what a fetch of that member
alone keeps, and makes the member do exactly that (:attr:`Cover.failed`,
:attr:`Cover.narrowed`):

- nothing maps: alone, translation fails with stix-shifter's mapping error; in the pack the
  member is reported failed with that error (naming the member's file and the unmapped
  properties), is left out of the OR, and the others run. If no member maps, the OR is sent
  as it is and the pack's fetch fails with the connector's error, as each member would;
- part maps (an ``OR`` one side of which is unmapped): alone, the connector fetches only
  what is kept, and the member then keeps what its pattern selects among those rows. In the
  pack the OR carries the kept part and the member selects the rows its pattern *and* its
  kept part match, so rows that other members' parts fetched are not added to it;
- everything maps: as before.

Cost (``python bench/pack_reach.py``, the same 913 patterns, 2026-12-07): deciding from the
mapping is 0.002-0.02 s CPU once per connector and options (cached per process and
stix-shifter version), then 0.01 s for all 913 members; translating each member alone instead
costs 2.3 s (mysql) and 3.6 s (elastic_ecs) per run and only says whether it fails. Both
agree on all 913 patterns of both connectors (on mysql 798 of them map nothing: each fails
alone, and is reported failed in a pack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from huntline.book.observables import every_entity_pattern
from huntline.errors import PatternError
from huntline.fetch.sources.pattern import observation_spans
from huntline.fetch.sources.reach import SourceReach
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
    what the fetched rows satisfy), the queries sent for it, and why this kind.

    ``failed`` and ``narrowed`` follow the members' order: the error of a member nothing of
    whose pattern the source maps (it fails as it would alone), and the part of a member's
    pattern the source keeps when it keeps only part (the member selects its rows with both).
    Empty when the source strips nothing (bundles, or nothing to decide)."""

    kind: str
    where: str
    queries: tuple[str, ...]
    reason: str
    failed: tuple[str | None, ...] = field(default=())
    narrowed: tuple[str | None, ...] = field(default=())


def covering_fetch(
    entity: str,
    source: str,
    members: Sequence[tuple[str, str]],
    reach: SourceReach | None = None,
) -> Cover:
    """The fetch covering ``members`` (``(file, pattern)`` each) of ``entity`` from
    ``source``; ``reach`` is what the source maps, for a stix-shifter source."""
    every = every_entity_pattern(entity)
    if scheme_of(source) in _BUNDLE_SCHEMES:
        why = f"{source} is read whole whatever the pattern; each member selects its own rows"
        return Cover(EVERY, every, (every,), why)
    failed, narrowed = _reach(members, reach)
    if len(members) > MAX_OR_MEMBERS:
        why = f"{len(members)} members, more than {MAX_OR_MEMBERS} to OR"
        return Cover(EVERY, every, (every,), why, failed, narrowed)
    for name, pattern in members:
        unsafe = _unsafe(entity, pattern)
        if unsafe is not None:
            why = f"the pattern of {name} {unsafe}"
            return Cover(EVERY, every, (every,), why, failed, narrowed)
    kept = [
        part or pattern
        for (_, pattern), error, part in zip(
            members, failed or _nones(members), narrowed or _nones(members), strict=True
        )
        if error is None
    ] or [pattern for _, pattern in members]  # no member maps: the fetch fails as they would
    distinct = list(dict.fromkeys(kept))  # the same pattern twice is one disjunct
    queries = tuple(or_pattern(distinct[at : at + CHUNK]) for at in range(0, len(distinct), CHUNK))
    why = f"the OR of {len(kept)} members' patterns in {len(queries)} queries"
    if any(failed):
        why += f" ({sum(e is not None for e in failed)} left out: their source maps none of it)"
    return Cover(OR, " OR ".join(queries), queries, why, failed, narrowed)


def _nones(members: Sequence[object]) -> list[None]:
    return [None] * len(members)


def _reach(
    members: Sequence[tuple[str, str]], reach: SourceReach | None
) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
    """Per member: the error if ``reach`` maps none of its pattern, the kept pattern if it
    maps only part; both empty when nothing is stripped. A pattern that does not evaluate
    locally (or is an intel template) is left as written: its fetch decides."""
    if reach is None:
        return (), ()
    failed: list[str | None] = []
    narrowed: list[str | None] = []
    for name, pattern in members:
        error = part = None
        try:
            found = None if placeholders(pattern) else reach.of(compile_pattern(pattern).parsed)
        except PatternError:
            found = None
        if found is not None and not found.whole:
            if found.kept is None:
                error = f"{name}: {reach.error(found)}"
            else:
                part = found.kept
        failed.append(error)
        narrowed.append(part)
    if not any(failed) and not any(narrowed):
        return (), ()
    return tuple(failed), tuple(narrowed)


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
