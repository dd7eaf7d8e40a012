"""STIX 2.0 observed-data -> one table per entity type, the table firepit/Kestrel would give.

The tables are what Kestrel analytics read, so they follow firepit 2.3's ``cache()`` +
``lookup()`` output row for row and value for value (the oracle tests check it). In short:

Rows
    One row per **entity**: the same file, address, user or host seen in many observations is
    one row. Identity (:mod:`.identity`) is firepit's uuid5 over identifying properties, so
    ``id`` equals firepit's id wherever firepit's is deterministic; anonymous SCOs (firepit's
    random uuid4) get a deterministic per-occurrence id instead.

Values
    Merged the firepit way (:mod:`.spool`): the last non-null value of each property;
    ``first_observed`` min, ``last_observed`` max, ``number_observed`` summed over the
    observations containing the entity.

Columns (:mod:`.rules`, :mod:`.references`)
    ``type``, ``id``, the properties as STIX object paths (``hashes.'SHA-256'``,
    ``x_aslr_enabled`` for extension properties), lists and custom objects' dicts as firepit's
    JSON text; references dereferenced into ``<ref>.<column>`` columns with firepit's names
    (``parent_ref.name``, ``binary_ref.parent_directory_ref.path``, ``src_ref.value``); then
    ``first_observed``, ``last_observed``, ``number_observed``. Beyond firepit's columns,
    huntline keeps each bare ``*_ref`` (the target's id), each ``*_refs`` list (a JSON list
    of target ids, which firepit keeps in a side table ``lookup()`` does not return), and
    ``<ref>.type`` (as in Kestrel's analytics inputs).

Types
    JSON types are kept (booleans stay booleans where SQLite would give 1/0); a property with
    values of different types becomes text.

Every SCO type becomes a table, custom ``x-*`` objects included. Within one call everything is
in memory; a paged fetch uses :class:`~huntline.fetch.tables.spool.EntitySpool`, which merges
entities across pages.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from huntline.fetch.base import ObservedData
from huntline.fetch.stix.collect import page_occurrences
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.rules import OBSERVATION_COLUMNS
from huntline.fetch.tables.spool import entity_table, merge_occurrences

__all__ = ["OBSERVATION_COLUMNS", "entity_types", "flatten", "flatten_all", "flatten_arrow"]


def flatten_all(observed: list[ObservedData]) -> dict[str, pa.Table]:
    """Every entity type in ``observed`` as an Arrow table, keyed by SCO type.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    merged = _merged(observed)
    return {sco_type: entity_table(merged, sco_type) for sco_type in sorted(merged)}


def flatten_arrow(observed: list[ObservedData], entity_type: str) -> pa.Table:
    """The table of ``entity_type`` in ``observed`` as an Arrow table; see the module docstring.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    return entity_table(_merged(observed), entity_type)


def flatten(observed: list[ObservedData], entity_type: str) -> pd.DataFrame:
    """The table of ``entity_type`` in ``observed`` as a DataFrame; see the module docstring.

    Args:
        observed: STIX 2.0 observed-data dicts with embedded ``objects``.
        entity_type: An SCO type such as ``process``, ``network-traffic`` or ``x-oca-event``.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    return flatten_arrow(observed, entity_type).to_pandas()


def entity_types(observed: list[ObservedData]) -> list[str]:
    """The SCO types present in ``observed``, sorted."""
    return sorted(
        {
            sco["type"]
            for obs in observed
            for sco in (obs.get("objects") or {}).values()
            if isinstance(sco, dict) and isinstance(sco.get("type"), str)
        }
    )


def _merged(observed: list[ObservedData]) -> dict[str, pa.Table]:
    tables = page_occurrences(observed, IdCache())
    return {sco_type: merge_occurrences([table]) for sco_type, table in tables.items()}
