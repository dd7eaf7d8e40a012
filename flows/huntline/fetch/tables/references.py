"""Dereference ``*_ref`` columns into dotted columns, as firepit 2.3's ``lookup()`` names them.

Given the merged entity tables of every type, the table of one entity type gets, for each
reference it can follow, the referenced entity's columns under ``<ref>.<column>``, and so on
down the references of that entity. Which references are followed, and into which table, are
firepit's rules (:func:`ref_targets`), so the columns and values are the ones Kestrel analytics
see:

- a reference is followed by its *name*, into the one table its name points at
  (``binary_ref`` -> ``file``, ``src_ref`` -> ``ipv4-addr``/``ipv6-addr``, ``host_ref`` of an
  ``x-oca-event`` -> ``x-oca-asset``, ...). A reference whose name is unknown is not followed,
  and one whose target has another type than the name promises gives empty columns;
- below the top level, a reference to the entity's own type is not followed (no cycles), except
  that every process met below the top also gets its parent's plain columns,
  ``<path>.parent_ref.<column>``; at the top level ``parent_ref`` is followed like any other
  reference, so a process gets ``parent_ref.binary_ref.name`` and ``parent_ref.parent_ref.name``;
- when both ``ipv4-addr`` and ``ipv6-addr`` exist, an address reference takes its columns from
  whichever of the two holds the target;
- the referenced entity's ``*_ref`` and ``*_refs`` columns, its observation columns and its
  ``x_datasource`` are not copied, but its ``id`` is (``binary_ref.id``), and ``<ref>.type``
  names its type where the reference resolved (firepit 2.3 has no such column; Kestrel's
  analytics inputs do).

One deliberate superset: firepit applies the type-specific rules (e.g. ``x-oca-event``'s
``process_ref``, ``email-message``'s ``from_ref``) only below the top level, because at the top
it knows the table by its view name; huntline applies them at the top too, so an ``x-oca-event``
table also has ``process_ref.name``. The bare ``*_ref`` columns (target ids) are kept as well.
Everything is done column-wise with Arrow ``index_in`` + ``take``, never row by row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from huntline.fetch.stix.plans import SOURCE_COLUMN
from huntline.fetch.stix.rules import OBSERVATION_COLUMNS

MAX_DEPTH = 8
_IP = ("ipv4-addr", "ipv6-addr")
_BY_NAME: dict[str, tuple[str, ...]] = {
    "parent_ref": ("process",),
    "dst_ref": _IP,
    "dst_ip_ref": _IP,
    "src_ref": _IP,
    "src_ip_ref": _IP,
    "binary_ref": ("file",),
    "image_ref": ("file",),
    "parent_directory_ref": ("directory",),
    "creator_user_ref": ("user-account",),
    "dst_os_ref": ("software",),
    "src_os_ref": ("software",),
    "dst_application_ref": ("software",),
    "src_application_ref": ("software",),
    "src_payload_ref": ("artifact",),
    "dst_payload_ref": ("artifact",),
}
_OCA_EVENT: dict[str, tuple[str, ...]] = {
    "original_ref": ("artifact",),
    "host_ref": ("x-oca-asset",),
    "url_ref": ("url",),
    "file_ref": ("file",),
    "domain_ref": ("domain-name",),
    "registry_ref": ("windows-registry-key",),
    "network_ref": ("network-traffic",),
    "user_ref": ("user-account",),
}
_IGNORED = {"x-oca-asset": frozenset(("parent_process_ref",))}
_LAST_PART = re.compile(r".*[.:]([a-z]*)")


def ref_targets(sco_type: str, column: str) -> tuple[str, ...]:
    """The types a ``*_ref`` column of ``sco_type`` is followed into (firepit's rules)."""
    part = _LAST_PART.sub(r"\1", column)
    if part in _BY_NAME:
        return _BY_NAME[part]
    if sco_type == "x-oca-event":
        if part in _OCA_EVENT:
            return _OCA_EVENT[part]
        if "process" in part:
            return ("process",)
    if sco_type == "x-ibm-finding" and part.endswith("_user_ref"):
        return ("user-account",)
    if sco_type == "email-message" and part in ("from_ref", "sender_ref"):
        return ("email-addr",)
    return ()


def copied_columns(table: pa.Table) -> list[str]:
    """The columns of a referenced entity that appear under ``<ref>.``."""
    skip = {"type", *OBSERVATION_COLUMNS, SOURCE_COLUMN}
    return [c for c in table.column_names if c not in skip and not c.endswith(("_ref", "_refs"))]


class Resolver:
    """Builds the dereferenced columns of one root table from every type's merged entities."""

    def __init__(self, tables: Mapping[str, pa.Table]) -> None:
        self.tables = tables
        self.mixed_ips = all(t in tables for t in _IP)
        self.names: list[str] = []
        self.arrays: list[pa.Array] = []

    def resolve(self, root: str, rows: pa.Table | None = None) -> tuple[list[str], list[pa.Array]]:
        """``(names, arrays)`` of the dotted columns for ``rows`` (default: all) of ``root``.

        Only the tables of the types actually followed are read from ``tables``, so a lazy
        mapping merges nothing else.
        """
        table = self.tables[root] if rows is None else rows
        self._follow(root, table, None, "", top=True, depth=0)
        return self.names, self.arrays

    def _follow(
        self,
        sco_type: str,
        table: pa.Table,
        rows: pa.Array | None,
        path: str,
        *,
        top: bool,
        depth: int,
    ) -> None:
        """Follow every reference column of ``table`` (its ``rows`` aligned to the root's)."""
        if depth >= MAX_DEPTH:
            return
        ignored = frozenset() if top else _IGNORED.get(sco_type, frozenset())
        for column in table.column_names:
            if not column.endswith("_ref") or column in ignored:
                continue
            targets = [t for t in ref_targets(sco_type, column) if t in self.tables]
            if not targets or (not top and targets[0] == sco_type):
                continue
            ids = _aligned(table.column(column), rows)
            prefix = f"{path}{column}."
            if self.mixed_ips and targets[0] in _IP:
                self._either_address(ids, prefix)
                continue
            target = self.tables[targets[0]]
            positions = _positions(ids, target)
            self._copy(targets[0], target, positions, prefix)
            if targets[0] == "process" and "parent_ref" in target.column_names:
                parents = _positions(_aligned(target.column("parent_ref"), positions), target)
                self._copy("process", target, parents, prefix + "parent_ref.")
            self._follow(targets[0], target, positions, prefix, top=False, depth=depth + 1)

    def _copy(self, sco_type: str, target: pa.Table, positions: pa.Array, prefix: str) -> None:
        self.names.append(prefix + "type")
        self.arrays.append(_type_where(positions, sco_type))
        for column in copied_columns(target):
            self.names.append(prefix + column)
            self.arrays.append(_aligned(target.column(column), positions))

    def _either_address(self, ids: pa.Array, prefix: str) -> None:
        """An address reference when both address tables exist: take from the one that has it."""
        v4, v6 = self.tables["ipv4-addr"], self.tables["ipv6-addr"]
        p4, p6 = _positions(ids, v4), _positions(ids, v6)
        self.names.append(prefix + "type")
        self.arrays.append(pc.coalesce(_type_where(p4, "ipv4-addr"), _type_where(p6, "ipv6-addr")))
        columns = dict.fromkeys([*copied_columns(v4), *copied_columns(v6)])
        for column in columns:
            parts = [
                _aligned(t.column(column), p)
                for t, p in ((v4, p4), (v6, p6))
                if column in t.column_names
            ]
            if len(parts) == 2 and parts[0].type != parts[1].type:
                parts = [p.cast(pa.large_string()) for p in parts]
            self.names.append(prefix + column)
            self.arrays.append(pc.coalesce(*parts) if len(parts) == 2 else parts[0])


def _type_where(positions: pa.Array, sco_type: str) -> pa.Array:
    """``sco_type`` where a reference was resolved, else null: Kestrel's ``<ref>.type``."""
    found = pc.is_valid(positions)
    return pc.if_else(
        found, pa.scalar(sco_type, pa.large_string()), pa.scalar(None, pa.large_string())
    )


def _positions(ids: pa.Array, target: pa.Table) -> pa.Array:
    """Row numbers in ``target`` of each id (null where absent)."""
    value_set = target.column("id").combine_chunks()
    if pa.types.is_null(ids.type):
        return pa.nulls(len(ids), pa.int32())
    return pc.index_in(ids.cast(value_set.type), value_set=value_set)


def _aligned(column: pa.ChunkedArray, rows: pa.Array | None) -> pa.Array:
    """``column`` at ``rows``; only the taken values are copied, never the whole column."""
    if rows is None:
        return column.combine_chunks()
    return column.take(rows).combine_chunks()
