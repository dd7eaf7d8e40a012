"""The STIX cyber-observable types a ``get`` step may name, and the pattern for "all of them".

Why a check at all: a ``get`` whose ``entity:`` names no real type (``proces``) is a valid
pattern over a type no data source ever returns, so the run ends with 0 rows and exit 0. The
types here are those of STIX 2.0 and 2.1; a custom type is anything starting ``x-``
(``x-oca-event``, ``x-ecs-...``), as the STIX specification reserves that prefix for them.

Why :func:`every_entity_pattern` has the form it has: ``[process:type = 'process']`` returns
every process of a STIX bundle (the matcher reads ``type`` off each object, and the result equals
firepit's), but stix-shifter's ``mysql`` and ``elastic_ecs`` connectors map no ``type`` property
and refuse the pattern with a mapping error. Under ``OR``, those connectors drop a comparison
they cannot map and translate the rest, so the pattern ORs ``type`` with one "any value"
comparison on a key property the connectors do map (``process_name LIKE '%'`` in mysql,
``process.name : *`` in elastic_ecs). On bundles the ``type`` comparison alone decides: every
entity of the type. On a connector it is every entity that has that property. Only one such
comparison, because stix-shifter 8.1.3's mysql connector writes ``a OR b AND (window)``
without parentheses, so with two the window would bind to the last one only.
"""

from __future__ import annotations

import difflib

from huntline.book.pattern_checks import inspected

#: STIX 2.0 and 2.1 cyber-observable object types.
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)

#: Comparisons true for any value of a key property that SIEM/EDR connectors map, so that a
#: connector that cannot map ``type`` still has something to translate (see the module doc).
_ANY_VALUE: dict[str, str] = {
    "process": "name LIKE '%'",
    "file": "name LIKE '%'",
    "network-traffic": "dst_port >= 0",
    "ipv4-addr": "value LIKE '%'",
    "ipv6-addr": "value LIKE '%'",
    "mac-addr": "value LIKE '%'",
    "domain-name": "value LIKE '%'",
    "url": "value LIKE '%'",
    "email-addr": "value LIKE '%'",
    "user-account": "user_id LIKE '%'",
    "windows-registry-key": "key LIKE '%'",
}


def is_custom(entity: str) -> bool:
    """Whether ``entity`` is a custom (``x-``) observable type."""
    return entity.startswith("x-")


def unknown_type(entity: str) -> str | None:
    """Why ``entity`` is not an observable type (with a "did you mean"), or None if it is one."""
    if entity in SCO_TYPES or is_custom(entity):
        return None
    guesses = difflib.get_close_matches(entity, sorted(SCO_TYPES), n=1)
    guess = f" (did you mean {guesses[0]!r}?)" if guesses else ""
    return (
        f"{entity!r} is not a STIX cyber-observable type{guess}; "
        "custom types start with x- (e.g. x-oca-event)"
    )


def every_entity_pattern(entity: str) -> str:
    """The pattern a ``get`` without ``where:`` uses: every entity of type ``entity``."""
    anchor = _ANY_VALUE.get(entity)
    return f"[{entity}:type = '{entity}'" + (f" OR {entity}:{anchor}]" if anchor else "]")


def pattern_type_problems(entity: str, pattern: str) -> list[str]:
    """Why ``pattern`` cannot return an ``entity`` a hunter meant, if it cannot.

    Two cases are certain to give 0 rows: a comparison on a type that does not exist (no data
    source has such objects), and a custom ``entity`` the pattern never names while it names a
    type spelled almost the same (``x-oca-evnt`` vs ``x-oca-event``: the entity is a typo). A
    known entity type that the pattern does not name is allowed: the step then returns the
    entities of that type seen in the matching observations, as Kestrel's ``GET`` does.
    """
    named = sorted(inspected(pattern).comparisons)
    problems = [
        f"the pattern compares {kind!r}: {reason}"
        for kind in named
        if (reason := unknown_type(kind)) is not None
    ]
    if entity not in named and is_custom(entity):
        close = difflib.get_close_matches(entity, named, n=1, cutoff=0.8)
        if close:
            problems.append(
                f"entity is {entity!r} but the pattern compares only {', '.join(named)}, so the "
                f"step would return no {entity} (did you mean entity: {close[0]}?)"
            )
    return problems
