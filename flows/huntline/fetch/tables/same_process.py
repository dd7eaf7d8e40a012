"""One process, one row: the Sysmon and the Security log's record of the same process creation
merged into one entity.

Windows with both Sysmon and process auditing on (the usual configuration) logs each process
creation twice: Sysmon event 1 (decimal ``ProcessId``, a ``ProcessGuid``) and Security event
4688 (hex ``NewProcessId``, no GUID). Converted to STIX they are two process entities (the GUID
identifies one, ``<pid>_<host>_<time>`` the other), so every process hunt alerted twice per
action. Two process rows are the same process when all of these hold:

- the same **pid** (text pids are normalised at flattening, ``0x1410`` = 5136, see
  :mod:`huntline.fetch.stix.coerce`), or a pid on one of them only: conversions drop it at
  times (in OTRF's ``empire_shell_reg_dump_sam`` the Sysmon record of ``reg.exe save
  HKLM\\sam`` has none); two records without a pid are never merged;
- the same **command line**, exactly (both non-null);
- the same **image**: the binary's directory and name compared without case when both rows
  have a directory, else the names;
- the same **host**, when both rows' hosts are known (the hostname of the ``x-oca-asset`` that
  their ``x-oca-event``\\ s name); a row without a known host matches on the rest;
- **created within** :data:`TOLERANCE` (5 s) of each other (``created``, else
  ``first_observed``), or a whole number of quarter hours apart (up to 14 h) to within the
  same tolerance: the Security channel's ``TimeCreated`` is often the collector's local time
  where Sysmon's ``UtcTime`` is UTC. In OTRF's ``cmd_sam_copy_esentutl`` the two records of the one
  ``esentutl.exe`` are 8 h apart to the millisecond.

The merged row keeps the id and values of the row with the most values (Sysmon's, as a rule:
hashes, GUID) and fills every column it lacks from the others, so no source's field is lost
where the richer one has none; ``first_observed``/``last_observed`` are the earliest and
latest, ``number_observed`` the sum, ``x_datasource`` the union, and ``x_merged_ids`` lists the
ids that were folded in.

Memory: the rows are read twice (:func:`merge_same_processes` takes a callable that yields the
batches again); between the passes only a key per candidate row is held, and in the second pass
only the rows of groups that merge.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from huntline.fetch.tables.spool import EntitySpool

__all__ = ["TOLERANCE", "MergeCount", "event_hosts", "merge_same_processes", "same_moment"]

#: How far apart two records of one process creation may be, in seconds: Security's 4688 is
#: stamped when logged, up to a few seconds after Sysmon's creation time (2.2 s in OTRF's
#: empire_shell_reg_dump_sam).
TOLERANCE = 5.0
_QUARTER = 15 * 60
_MOST_OFFSET = 14 * 3600
MERGED_IDS = "x_merged_ids"

MergeCount = dict[str, int]
#: A candidate row: its id, its creation time, its image (``dir\\name`` or the name), lowered,
#: and its pid (None when it has none).
_Record = tuple[str, datetime | None, str, Any]


def same_moment(a: datetime | None, b: datetime | None) -> bool:
    """Whether two creation times are one moment (see the module docstring); unknown: no."""
    if a is None or b is None:
        return False
    apart = abs((a - b).total_seconds())
    if apart <= TOLERANCE:
        return True
    off = apart % _QUARTER
    return apart <= _MOST_OFFSET + TOLERANCE and min(off, _QUARTER - off) <= TOLERANCE


def merge_same_processes(
    batches: Callable[[], Iterable[pa.Table]],
    hosts: Callable[[set[str]], dict[str, str]],
) -> tuple[Iterator[pa.Table], MergeCount]:
    """The process rows of ``batches()`` with each process's records merged into one row.

    Args:
        batches: Yields the process table's slices (called twice).
        hosts: The hostname of each of some process ids (those it knows).

    Returns:
        The slices to write, and a dict that holds ``{"merged": N}`` once they are consumed:
        the rows folded into another.
    """
    groups = _groups(batches(), hosts)
    count: MergeCount = {"merged": sum(len(members) - 1 for members in groups)}
    return _merged(batches(), groups), count


def event_hosts(spool: EntitySpool, ids: set[str]) -> dict[str, str]:
    """The hostname of each process of ``ids`` that an ``x-oca-event`` of ``spool`` places on
    a host (firepit's shape of Sysmon and Security events: ``process_ref``, ``host_ref``)."""
    if "x-oca-event" not in spool.types():
        return {}
    found: dict[str, str] = {}
    wanted = pa.array(list(ids), pa.large_string())
    for events in spool.batches("x-oca-event"):
        names = events.column_names
        if "process_ref.id" not in names or "host_ref.hostname" not in names:
            return found
        process = pc.cast(events["process_ref.id"], pa.large_string())
        mine = events.filter(pc.fill_null(pc.is_in(process, value_set=wanted), False))
        for sid, host in zip(
            mine["process_ref.id"].to_pylist(), mine["host_ref.hostname"].to_pylist(), strict=True
        ):
            if host is not None:
                found.setdefault(sid, host)
    return found


def _key_columns(table: pa.Table) -> dict[str, list[Any]]:
    names = [
        "id",
        "pid",
        "command_line",
        "binary_ref.name",
        "binary_ref.parent_directory_ref.path",
        "created",
        "first_observed",
    ]
    return {
        name: table[name].to_pylist() if name in table.column_names else [None] * table.num_rows
        for name in names
    }


def _groups(
    tables: Iterable[pa.Table], hosts: Callable[[set[str]], dict[str, str]]
) -> list[list[str]]:
    """The ids of each set of rows that are one process, first seen first."""
    candidates: dict[tuple[Any, ...], list[_Record]] = defaultdict(list)
    for table in tables:
        columns = _key_columns(table)
        for row in zip(*columns.values(), strict=True):
            sid, pid, command, name, folder, created, first = row
            if command is None or name is None:
                continue
            image = (str(folder).rstrip("\\/").lower() + "\\" if folder else "") + name.lower()
            moment = _moment(created) or _moment(first)
            candidates[(command, name.lower())].append((sid, moment, image, pid))
    shared = {key: rows for key, rows in candidates.items() if len(rows) > 1}
    if not shared:
        return []
    known = hosts({sid for rows in shared.values() for sid, *_ in rows})
    groups: list[list[str]] = []
    for rows in shared.values():
        pending = list(rows)
        while pending:
            first, *rest = pending
            group, pending = [first], []
            for other in rest:
                if all(_same(member, other, known) for member in group):
                    group.append(other)
                else:
                    pending.append(other)
            if len(group) > 1:
                groups.append([member[0] for member in group])
    return groups


def _same(a: _Record, b: _Record, known: dict[str, str]) -> bool:
    (id_a, moment_a, image_a, pid_a), (id_b, moment_b, image_b, pid_b) = a, b
    if pid_a is None and pid_b is None:
        return False  # nothing ties two pid-less records to one process
    if pid_a is not None and pid_b is not None and pid_a != pid_b:
        return False
    if "\\" in image_a and "\\" in image_b and image_a != image_b:
        return False
    host_a, host_b = known.get(id_a), known.get(id_b)
    if host_a is not None and host_b is not None and host_a.lower() != host_b.lower():
        return False
    return same_moment(moment_a, moment_b)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _merged(tables: Iterable[pa.Table], groups: list[list[str]]) -> Iterator[pa.Table]:
    """Every slice without the grouped rows; a group's merged row follows the slice that
    completes it."""
    group_of = {sid: index for index, members in enumerate(groups) for sid in members}
    held: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for table in tables:
        if not group_of:
            yield table
            continue
        involved = pc.is_in(table["id"], value_set=pa.array(list(group_of), table["id"].type))
        kept = table.filter(pc.invert(involved))
        done = []
        for row in table.filter(involved).to_pylist():
            index = group_of[row["id"]]
            held[index][row["id"]] = row
            if len(held[index]) == len(groups[index]):
                members = held.pop(index)
                done.append(_combine(_richest_first([members[sid] for sid in groups[index]])))
        yield kept
        if done:
            yield pa.Table.from_pylist(done)


def _richest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The row with the most values first (Sysmon's, usually), the others in first-seen order."""
    richest = max(
        range(len(rows)), key=lambda i: (sum(v is not None for v in rows[i].values()), -i)
    )
    return [rows[richest], *rows[:richest], *rows[richest + 1 :]]


def _combine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from a group's rows: the first's values, gaps filled from the others."""
    merged = dict(rows[0])
    for row in rows[1:]:
        for name, value in row.items():
            if merged.get(name) is None and value is not None:
                merged[name] = value
    firsts = [row["first_observed"] for row in rows if row.get("first_observed") is not None]
    lasts = [row["last_observed"] for row in rows if row.get("last_observed") is not None]
    counts = [row["number_observed"] for row in rows if row.get("number_observed") is not None]
    merged["first_observed"] = min(firsts) if firsts else None
    merged["last_observed"] = max(lasts) if lasts else None
    merged["number_observed"] = sum(counts) if counts else None
    sources = {
        part for row in rows if row.get("x_datasource") for part in row["x_datasource"].split(",")
    }
    if sources:
        merged["x_datasource"] = ",".join(sorted(sources))
    merged[MERGED_IDS] = json.dumps([row["id"] for row in rows[1:]])
    return merged
