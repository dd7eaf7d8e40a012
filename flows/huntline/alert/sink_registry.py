"""The registry of destinations, keyed by URL scheme.

``jsonl://`` writes a local file; every other scheme goes to apprise, which knows ~100 services
(``json://``, ``form://``, ``mailto://``, ``slack://``, ``msteams://``, ``pagerduty://`` ...). A
destination apprise lacks is one new module with a class that satisfies
:class:`~huntline.alert.sink_protocol.AlertSink` and one registration of a :class:`SinkKind` by
its scheme: ``SINKS.add(...)`` here, or, from another package, an entry point in the group
``huntline.sinks`` naming the ``SinkKind`` (:mod:`huntline.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from huntline.alert import apprise_sink, jsonl_sink
from huntline.alert.sink_protocol import AlertSink
from huntline.registry import Registry
from huntline.schemes import scheme_of


@dataclass(frozen=True)
class SinkKind:
    """How to build a sink for a scheme, check a URL of it, and show it without secrets."""

    build: Callable[[str], AlertSink]
    problem: Callable[[str], str | None]
    redact: Callable[[str], str]


APPRISE = SinkKind(apprise_sink.AppriseSink, apprise_sink.url_problem, apprise_sink.redact)
SINKS: Registry[SinkKind] = Registry(
    "alert destination scheme",
    "huntline.sinks",
    accepts=lambda kind: isinstance(kind, SinkKind),
    display=lambda scheme: f"{scheme}://",
)
SINKS.add("jsonl", SinkKind(jsonl_sink.JsonlSink, jsonl_sink.url_problem, lambda url: url))


def kind_of(url: str) -> SinkKind:
    """The sink kind of ``url``'s scheme (apprise for every scheme not registered)."""
    return SINKS.find(scheme_of(url)) or APPRISE


def sink_for(url: str) -> AlertSink:
    """A sink for ``url``; no I/O happens until it delivers."""
    return kind_of(url).build(url)


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable destination, or None."""
    return kind_of(url).problem(url)


def redact(url: str) -> str:
    """``url`` safe to log: credentials masked."""
    return kind_of(url).redact(url)
