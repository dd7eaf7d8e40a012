"""The inline book several tests start from: a ``get`` of processes from the ``edr`` source and
an alert on them (issue 21 item 9: the same lines were copied in four test files). Each test
gives its own head (id, title, ...) and the alert's lines after ``on: procs``; the text is
the same line for line, so the ``file:line`` positions tests assert stay valid."""

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


def procs_book(head: str, alert: str) -> str:
    """``head``, then the step and ``alert: on: procs``, then ``alert``'s own lines."""
    return head + PROCS_FROM_EDR + alert
