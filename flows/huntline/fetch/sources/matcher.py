"""stix2-matcher, the OASIS reference matcher, over a list of observed-data.

The bundle source hands it the patterns the local evaluator (:mod:`huntline.patterns`) does not
take, those whose bindings relate several observations (``AND``, ``FOLLOWEDBY``, ``WITHIN``,
``REPEATS``); the tests use it as the oracle of the local evaluator. Every binding counts, not
only the first (``stix2matcher.matcher.match`` stops at the first).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from stix2matcher import matcher as stix2matcher

from huntline.fetch.base import ObservedData
from huntline.fetch.stix import matcher_patches

matcher_patches.install_matcher()  # MATCHES in linear time, subnet tests for IPv6 too

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
    """stix2-matcher's listener with START/STOP fixed for the installed grammar (its MATCHES
    and subnet tests are :mod:`huntline.fetch.stix.matcher_patches`').

    stix2-patterns 2.x parses STIX 2.0 START/STOP operands as timestamp literals (t'...'), but
    stix2-matcher 3.0.0 looks them up as string literals and fails with AttributeError. Here the
    two timestamps are read from the tokens' text instead. (stix-shifter's ``stix_bundle``
    connector patches the same method of stix2-matcher's own class when it is imported; a
    subclass keeps this one whatever was imported first.)
    """

    def exitStartStopQualifier(self, ctx: Any) -> None:
        start, stop = (_timestamp_literal(ctx.TimestampLiteral(i).getText()) for i in (0, 1))
        self._MatchListener__push((start, stop), "exitStartStopQualifier")


def _timestamp_literal(text: str) -> datetime:
    """``t'2021-01-01T00:00:00Z'`` -> an aware datetime."""
    body = text[2:-1] if text.startswith("t'") else text.strip("'")
    return datetime.fromisoformat(body.replace("Z", "+00:00"))
