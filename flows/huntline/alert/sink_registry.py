"""The registry of destinations, keyed by URL scheme.

``jsonl://`` writes a local file; every other scheme goes to apprise, which knows ~100 services
(``json://``, ``form://``, ``mailto://``, ``slack://``, ``msteams://``, ``pagerduty://`` ...). A
destination apprise lacks is one new module with a class that satisfies
:class:`~huntline.alert.sink_protocol.AlertSink`, registered here by its scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from huntline.alert import apprise_sink, jsonl_sink
from huntline.alert.sink_protocol import AlertSink


@dataclass(frozen=True)
class SinkKind:
    """How to build a sink for a scheme, check a URL of it, and show it without secrets."""

    build: Callable[[str], AlertSink]
    problem: Callable[[str], str | None]
    redact: Callable[[str], str]


APPRISE = SinkKind(apprise_sink.AppriseSink, apprise_sink.url_problem, apprise_sink.redact)
SINKS: dict[str, SinkKind] = {
    "jsonl": SinkKind(jsonl_sink.JsonlSink, jsonl_sink.url_problem, lambda url: url),
}


def kind_of(url: str) -> SinkKind:
    """The sink kind of ``url``'s scheme (apprise for every scheme not registered)."""
    return SINKS.get(url.split("://", 1)[0].lower(), APPRISE)


def sink_for(url: str) -> AlertSink:
    """A sink for ``url``; no I/O happens until it delivers."""
    return kind_of(url).build(url)


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable destination, or None."""
    return kind_of(url).problem(url)


def redact(url: str) -> str:
    """``url`` safe to log: credentials masked."""
    return kind_of(url).redact(url)
