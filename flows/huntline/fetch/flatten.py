"""STIX 2.0 observed-data -> one pandas table per entity type, with Kestrel/firepit column names.

The table is what Kestrel analytics read, so its shape follows what Kestrel hands them (see
``shared/data/parquet/procs.parquet.gz``). The rules:

Rows
    One row per SCO of the entity type inside each observed-data, including SCOs that are only
    referenced (a parent process is a process row of its own). Nothing is deduplicated: the same
    process seen in two observations is two rows with two ids.

``id``
    ``<type>--<uuid of the observed-data>_<key of the SCO in its objects>``, e.g.
    ``process--41eb677f-0335-49da-98b8-375e22f8c94e_3``. This is the id firepit 1.x gave and the
    sample parquet shows. It is unique and stable for a given bundle, so analytics outputs merge
    back by id without ambiguity. (firepit >= 2.0 instead derives a STIX 2.1 style uuid5 from the
    SCO's identifying properties, or a random uuid4 for a process without a unique id, and merges
    rows that share it; that identity model is deliberately left for later.)

``type``, ``first_observed``, ``last_observed``, ``number_observed``
    The SCO's type and its observation's timestamps (kept as the STIX strings) and count.

Plain properties
    Named as STIX object paths: nested dicts become dotted names, and a key containing ``-`` is
    single-quoted, so hashes are ``hashes.MD5`` and ``hashes.'SHA-256'``. Lists and (for custom
    ``x-`` objects, which are not recursed into, as in firepit) dicts are stored as compact JSON
    strings, e.g. ``protocols`` = ``["ipv4","tcp"]``. Extension properties are shortened the
    firepit way, ``extensions.'windows-process-ext'.aslr_enabled`` -> ``x_aslr_enabled``, unless
    that would collide with another property of the same object.

References
    A ``*_ref`` whose target is in the same observation becomes ``<ref>.id``, ``<ref>.type`` and
    ``<ref>.<property>`` columns, followed up to three references deep
    (``parent_ref.binary_ref.parent_directory_ref.path``) and never around a cycle. The bare
    ``*_ref`` column is dropped, as in firepit's lookup; so are dangling references and
    ``*_refs`` lists (firepit moves those to a side table).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pandas as pd

from huntline.errors import FetchError
from huntline.fetch.base import ObservedData

MAX_REF_DEPTH = 3
OBSERVATION_COLUMNS = ("first_observed", "last_observed", "number_observed")
_EXTENSION_PREFIX = re.compile(r"^extensions\.'(x-)?[\w-]+'\.")


def sco_id(sco_type: str, observation_id: str, key: str) -> str:
    """The firepit 1.x / Kestrel id of the SCO ``key`` inside observed-data ``observation_id``."""
    return f"{sco_type}--{observation_id.partition('--')[2]}_{key}"


def flatten(observed: list[ObservedData], entity_type: str) -> pd.DataFrame:
    """One table of every ``entity_type`` SCO inside ``observed``; see the module docstring.

    Args:
        observed: STIX 2.0 observed-data dicts with embedded ``objects``.
        entity_type: An SCO type such as ``process`` or ``network-traffic``.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    rows: list[dict[str, Any]] = []
    for obs in observed:
        objects = _objects_of(obs)
        for key, sco in objects.items():
            if not isinstance(sco, dict) or sco.get("type") != entity_type:
                continue
            row: dict[str, Any] = {"type": entity_type, "id": sco_id(entity_type, obs["id"], key)}
            _add_object(row, "", sco, objects, obs["id"], (key,))
            for column in OBSERVATION_COLUMNS:
                row[column] = obs.get(column)
            rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["type", "id", *OBSERVATION_COLUMNS])
    table = pd.DataFrame.from_records(rows)
    rest = [c for c in table.columns if c not in OBSERVATION_COLUMNS]
    return _parquet_safe(table[[*rest, *OBSERVATION_COLUMNS]])


def entity_types(observed: list[ObservedData]) -> list[str]:
    """The SCO types present in ``observed``, sorted."""
    return sorted(
        {
            sco["type"]
            for obs in observed
            for sco in _objects_of(obs).values()
            if isinstance(sco, dict) and isinstance(sco.get("type"), str)
        }
    )


def _objects_of(obs: ObservedData) -> dict[str, Any]:
    objects = obs.get("objects")
    if not isinstance(objects, dict) or not isinstance(obs.get("id"), str):
        raise FetchError(
            f"observed-data {obs.get('id', '(no id)')} has no embedded 'objects' mapping",
            hint="only STIX 2.0 observed-data with embedded objects can be flattened",
        )
    return objects


def _add_object(
    row: dict[str, Any],
    prefix: str,
    sco: dict[str, Any],
    objects: dict[str, Any],
    observation_id: str,
    path: tuple[str, ...],
) -> None:
    """Write ``sco``'s properties under ``prefix`` and follow its references."""
    for name, value in properties(sco).items():
        row[prefix + name] = value
    if len(path) > MAX_REF_DEPTH:
        return
    for ref, target_key in sco.items():
        if not ref.endswith("_ref") or not isinstance(target_key, str) or target_key in path:
            continue
        target = objects.get(target_key)
        if not isinstance(target, dict) or not isinstance(target.get("type"), str):
            continue  # a dangling reference: firepit drops it too
        nested = f"{prefix}{ref}."
        row[nested + "id"] = sco_id(target["type"], observation_id, target_key)
        row[nested + "type"] = target["type"]
        _add_object(row, nested, target, objects, observation_id, (*path, target_key))


def properties(sco: dict[str, Any]) -> dict[str, Any]:
    """The plain (non-reference) properties of one SCO as ``{column: value}``."""
    custom = str(sco.get("type", "")).startswith("x-")
    out: dict[str, Any] = {}
    for key, value in sco.items():
        if key in ("type", "id", "spec_version") or key.endswith(("_ref", "_refs")):
            continue
        if isinstance(value, dict) and (key == "extensions" or not custom):
            _nested(value, _quote(key), out)
        else:
            out[_quote(key)] = _scalar(value)
    return _shorten_extensions(out)


def _nested(value: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, item in value.items():
        name = f"{prefix}.{_quote(key)}"
        if isinstance(item, dict):
            _nested(item, name, out)
        else:
            out[name] = _scalar(item)


def _quote(key: str) -> str:
    """STIX object paths quote a property name that contains a hyphen: ``'SHA-256'``."""
    return f"'{key}'" if "-" in key else key


def _scalar(value: Any) -> Any:
    """Lists and dicts as compact JSON text, as firepit stores them."""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value


def _shorten_extensions(out: dict[str, Any]) -> dict[str, Any]:
    """firepit's ``extensions.'<name>'.<prop>`` -> ``x_<prop>``, unless two would collide."""
    if not any(name.startswith("extensions.") for name in out):
        return out
    short = {name: _EXTENSION_PREFIX.sub("x_", name) for name in out}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        (short[name] if counts[short[name]] == 1 else name): value for name, value in out.items()
    }


def _parquet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Turn columns that mix Python types (e.g. int and str) into strings.

    Different connectors, or different objects, can give one property different types; pyarrow
    refuses to write such a column, and a string is what firepit's TEXT column would give.
    """
    for column in table.columns:
        if table[column].dtype != object:
            continue
        kinds = {type(v) for v in table[column] if v is not None and v == v}
        if len(kinds) > 1:
            table[column] = table[column].map(
                lambda v: None if v is None or v != v else (v if isinstance(v, str) else str(v))
            )
    return table
