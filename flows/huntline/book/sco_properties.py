"""Which columns an entity table of a STIX cyber-observable type can ever have.

Why: a book without ``apply`` alerts on the table its ``get`` step fetched, and that table's
columns follow from the type (:mod:`huntline.fetch.tables.flatten`): ``id``, ``type``, the
type's properties, references dereferenced into ``<ref>.<property>`` (``parent_ref.name``,
``binary_ref.parent_directory_ref.path``), custom and extension properties as ``x_...``, and
``first_observed``, ``last_observed``, ``number_observed``. A condition or title reading any
other column (``proces_name``, ``parent.name``) can never match: it used to pass ``validate``
and fail the first scheduled run. The properties and the types a reference may point to come
from the ``stix2`` library's own definitions of STIX 2.0 and 2.1 (their union: data sources
speak either version), read into :mod:`huntline.book.sco_table` by
:mod:`huntline.book.sco_generate` so that checking a book imports no ``stix2``.
"""

from __future__ import annotations

import difflib

from huntline.book.sco_table import PROPERTIES

#: Columns every entity table has, beside the type's own properties.
ENTITY_COLUMNS = frozenset({"id", "type", "first_observed", "last_observed", "number_observed"})
#: Columns whose names the data decides: custom and extension properties.
CUSTOM_PREFIX = "x_"


def properties(sco_type: str) -> dict[str, frozenset[str] | None]:
    """The properties of ``sco_type`` in STIX 2.0 or 2.1, each with the types it may reference
    (None for a property that is not a single reference, or whose targets are open-ended).
    Empty for a type neither version defines (a custom ``x-`` type)."""
    return PROPERTIES.get(sco_type, {})


def column_problem(sco_type: str, column: str) -> str | None:
    """Why a table of ``sco_type`` entities can never have ``column``, or None if it can.

    Only what is certain is reported: a custom type, a custom property (``x_...``) and the
    keys inside a dict property (``hashes.'SHA-256'``) are the data's to decide.
    """
    types, walked = frozenset({sco_type}), list[str]()
    for part in column.split("."):
        if part in ENTITY_COLUMNS or part.startswith(CUSTOM_PREFIX):
            return None
        known: dict[str, frozenset[str] | None] = {}
        for each in types:
            if not properties(each):
                return None  # a custom type: any column may exist
            known.update(properties(each))
        if part not in known:
            names = sorted({*known, *ENTITY_COLUMNS} - {"extensions"})
            guesses = difflib.get_close_matches(part, names, n=1)
            guess = f" (did you mean {'.'.join([*walked, guesses[0]])!r}?)" if guesses else ""
            what = " or ".join(sorted(types))
            where = f" (the {'.'.join(walked)} of a {sco_type})" if walked else ""
            return f"column {column!r}: a {what}{where} has no property {part!r}{guess}"
        targets = known[part]
        if targets is None:
            return None  # a value, a list or a dict: the rest is the data's
        types, walked = targets, [*walked, part]
    return None
