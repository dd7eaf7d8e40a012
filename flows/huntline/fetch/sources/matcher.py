"""stix2-matcher, the OASIS reference matcher, over a list of observed-data.

The bundle source hands it the patterns the local evaluator (:mod:`huntline.patterns`) does not
take, those whose bindings relate several observations (``AND``, ``FOLLOWEDBY``, ``WITHIN``,
``REPEATS``); the tests use it as the oracle of the local evaluator. Every binding counts, not
only the first (``stix2matcher.matcher.match`` stops at the first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from stix2matcher import matcher as stix2matcher

from huntline import networks
from huntline.fetch.base import ObservedData
from huntline.fetch.stix import linear_match

linear_match.install()  # MATCHES in linear time, here and in stix-shifter's stix_bundle

__all__ = ["reference_match"]


def reference_match(pattern: str, observed: list[ObservedData]) -> set[str]:
    """The ids of the observations in any binding of ``pattern``.

    Raises:
        Exception: Whatever stix2-matcher raises for a bad pattern or value (bare exceptions).
    """
    listener = _Listener(observed, False, stix_version="2.0")
    _compiled(pattern).walk(listener)
    return {
        str(sdo["id"])
        for binding in listener.matched()
        for sdo in listener.get_sdos_from_binding(binding)
    }


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> Any:
    """The parsed pattern: parsed once, not once per streamed chunk."""
    return stix2matcher.Pattern(pattern, stix_version="2.0")


class _Listener(stix2matcher.MatchListener):  # type: ignore[misc]
    """stix2-matcher's listener with START/STOP fixed for the installed grammar, and ISSUBSET /
    ISSUPERSET for both address families.

    stix2-patterns 2.x parses STIX 2.0 START/STOP operands as timestamp literals (t'...'), but
    stix2-matcher 3.0.0 looks them up as string literals and fails with AttributeError. Here the
    two timestamps are read from the tokens' text instead.

    stix2-matcher's subnet tests know IPv4 only: an IPv6 address in the data, or an IPv6 range
    in the pattern, raised "Invalid IPv4 address". They follow :mod:`huntline.networks` here:
    a value of the other family, or no address, is not inside.
    """

    def exitStartStopQualifier(self, ctx: Any) -> None:
        start, stop = (_timestamp_literal(ctx.TimestampLiteral(i).getText()) for i in (0, 1))
        self._MatchListener__push((start, stop), "exitStartStopQualifier")

    def exitPropTestIsSubset(self, ctx: Any) -> None:
        outer = networks.network(_string_literal(ctx))
        self._network_test(ctx, lambda value: networks.contains(outer, value))

    def exitPropTestIsSuperset(self, ctx: Any) -> None:
        inner = networks.network(_string_literal(ctx))
        self._network_test(ctx, lambda value: networks.contained_by(value, inner))

    def _network_test(self, ctx: Any, inside: Callable[[Any], bool]) -> None:
        negated = bool(ctx.NOT())
        label = "exitPropTestIsSubset"
        values = self._MatchListener__pop(label)
        passed = stix2matcher._obs_map_prop_test(values, lambda v: inside(v) != negated)
        self._MatchListener__push(passed, label)


def _string_literal(ctx: Any) -> str:
    return str(stix2matcher._literal_terminal_to_python_val(ctx.StringLiteral()))


def _timestamp_literal(text: str) -> datetime:
    """``t'2021-01-01T00:00:00Z'`` -> an aware datetime."""
    body = text[2:-1] if text.startswith("t'") else text.strip("'")
    return datetime.fromisoformat(body.replace("Z", "+00:00"))
