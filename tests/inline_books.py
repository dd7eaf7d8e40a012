"""The inline books several tests start from (issue 21 item 9: the same lines were copied in
test file after test file). Each test gives its own head (id, title, ...) and, for a book with
an alert, the alert's lines after ``on:``; a book keeps its lines in place, so the
``file:line`` positions tests assert stay valid.

- :func:`procs_book`: processes from the ``edr`` source, and an alert on them.
- :func:`custom_type_book`: a custom entity type from ``edr`` (the test decides its columns:
  the loader checks no column of a custom type), and an alert on it.
- :func:`scheduled_book`: the sample bundle's processes over the last minute, on a schedule.
- :func:`pack_member` and :func:`pack_text`: a rule pack's member book (one ``get`` from a
  bundle, an alert per process) and the pack file over such members.
"""

from __future__ import annotations

PROCS_FROM_EDR = """\
steps:
  - get: procs
    entity: process
    from: edr
    where: "[process:pid > 0]"
alert:
  on: procs
"""
SAMPLE_PROCS = """\
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
    where: "[process:pid > 0]"
"""
#: Every minute, each run reaching 30 s back into the last one, catching up at most an hour.
EVERY_MINUTE = '{cron: "* * * * *", timezone: UTC, overlap: 30s, max_catchup: 1h}'


def procs_book(head: str, alert: str) -> str:
    """``head``, then the step and ``alert: on: procs``, then ``alert``'s own lines."""
    return head + PROCS_FROM_EDR + alert


def custom_type_book(head: str, alert: str, variable: str = "procs", key: str = "pid") -> str:
    """``head``, then a ``get`` of ``x-test-<variable minus its s>`` entities from ``edr``
    whose ``key`` is above 0 and ``alert: on: <variable>``, then ``alert``'s own lines."""
    entity = f"x-test-{variable.removesuffix('s')}"
    return (
        f"{head}steps:\n"
        f"  - get: {variable}\n"
        f"    entity: {entity}  # a custom type: its columns are the test's\n"
        "    from: edr\n"
        f'    where: "[{entity}:{key} > 0]"\n'
        f"alert:\n  on: {variable}\n{alert}"
    )


def scheduled_book(hunt_id: str, title: str, schedule: str = EVERY_MINUTE, head: str = "") -> str:
    """A book with ``hunt_id`` and ``title`` (then ``head``'s lines) fetching the sample bundle's
    processes over the last minute, on ``schedule`` (what follows ``schedule:``)."""
    window = f"window: {{last: 1m}}\nschedule: {schedule}\n"
    return f"id: {hunt_id}\ntitle: {title}\n{head}{window}{SAMPLE_PROCS}"


PACK_MEMBER = """\
id: {id}
title: {title}
window: {{last: 24h}}
steps:
  - get: procs
    entity: {entity}
    from: file://{bundle}
    where: "{where}"
{extra}alert:
  on: procs
  when: exists(name)
  severity: high
  title: "{title} {{name}} {{pid}}"
  dedup: [name, pid]
"""
PACK_FILE = """\
pack: endpoint-processes
title: Endpoint process rules
source: file://{bundle}
entity: process
window: {window}
members: {members}
"""


def pack_member(
    ident: str, title: str, bundle: object, where: str, entity: str = "process", extra: str = ""
) -> str:
    """A pack member: ``entity`` rows of ``bundle`` matching ``where``, each an alert;
    ``extra`` is step lines put before the alert section (a gate, say)."""
    return PACK_MEMBER.format(
        id=ident, title=title, bundle=bundle, where=where, entity=entity, extra=extra
    )


def pack_text(bundle: object, members: str, window: str = "{last: 24h}") -> str:
    """The pack ``endpoint-processes`` over ``members`` (a folder or a YAML list), from
    ``bundle``."""
    return PACK_FILE.format(bundle=bundle, members=members, window=window)
