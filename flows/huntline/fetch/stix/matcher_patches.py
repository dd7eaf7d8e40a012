"""What huntline changes in stix2-matcher and in stix-shifter's ``stix_bundle`` connector, and
why each change is still needed now that :mod:`huntline.patterns` evaluates patterns itself.

stix2-matcher, the OASIS reference matcher, still runs inside huntline's process in two places:

- :func:`huntline.fetch.sources.matcher.reference_match`, for the patterns the local evaluator
  does not take (bindings relating several observations: ``AND`` between observations,
  ``FOLLOWEDBY``, ``WITHIN``, ``REPEATS``) in ``file://`` bundles, and as the local
  evaluator's oracle in the tests;
- stix-shifter's ``stix_bundle`` connector (``http(s)://`` bundles), for the patterns the third
  change below leaves to it (STIX 2.1 bundles, several observations per binding).

Each change replaces one method, the way the connector itself patches stix2-matcher's
START/STOP handling; nothing else of either library changes, and installing twice changes
nothing.

1. ``MATCHES`` in linear time (:func:`install_matcher`). stix2-matcher runs ``re.search``, so a
   bundle's text could make one pattern cost minutes of CPU (``(a+)+$`` on 29 characters took
   29 s and doubled with each more). Here RE2 runs it, with stix2-matcher's semantics: regex
   and text NFC-normalised and searched unanchored; a binary value searched with the regex as
   Latin-1 bytes; any other value does not match; ``NOT MATCHES`` negates. A regex RE2 refuses
   raises :class:`~huntline.linear_regex.RegexError` (``validate`` reports it before any run).
2. ``ISSUBSET``/``ISSUPERSET`` for both address families (:func:`install_matcher`).
   stix2-matcher parses every address as IPv4: the first ``fe80::…`` or ``::1`` in a bundle
   failed the whole fetch with "Invalid IPv4 address". Here the tests are those of
   :mod:`huntline.networks`: a value of the other family, or no address at all, is not inside;
   a network the pattern writes that does not parse is the author's error.
3. The connector matching with :mod:`huntline.patterns` (:func:`install_connector`). It hands
   every observation to stix2-matcher, which reads about 8,000 observations/s here, and does it
   again for every results page. A STIX 2.0 pattern whose bindings are single observations
   (the connector's query always is one, with the window as START/STOP) is evaluated locally
   (same semantics, differentially tested); anything else goes to the connector's own code.
   The matched observations come back in bundle order, not binding by binding; entities are
   merged by id afterwards, so the tables are the same.
4. The connector's ``json`` (:func:`install_connector`): the bundle it downloads is parsed by
   ``json.loads``, which keeps the last value of a repeated key without a word; the same
   ``loads`` then also names them (:func:`huntline.fetch.sources.json_keys.check_text`), as
   the ``file://`` paths do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from stix2matcher import matcher

from huntline import networks
from huntline.fetch.sources import json_keys
from huntline.fetch.sources.pattern import binds_one_observation
from huntline.linear_regex import compile_linear
from huntline.patterns import compile_pattern

__all__ = ["install_connector", "install_matcher"]

_INSTALLED = "_huntline_local_match"


def install_matcher() -> None:
    """Changes 1 and 2: every stix2-matcher ``MatchListener`` (the connector's too) runs
    ``MATCHES`` with RE2 and the subnet tests for IPv4 and IPv6."""
    matcher.MatchListener.exitPropTestRegex = _exit_regex
    matcher.MatchListener.exitPropTestIsSubset = _exit_subset
    matcher.MatchListener.exitPropTestIsSuperset = _exit_superset


def install_connector() -> None:
    """Changes 3 and 4, and 1 and 2 for what the connector still matches itself (nothing when
    the connector is not installed)."""
    install_matcher()
    try:
        from stix_shifter_modules.stix_bundle.stix_transmission import connector
    except ImportError:
        return
    if getattr(connector.Connector, _INSTALLED, False):
        return
    reference = connector.Connector.match

    def match(
        self: Any,
        pattern: str,
        observed: list[dict[str, Any]],
        verbose: bool = False,
        stix_version: str = "2.0",
    ) -> list[dict[str, Any]]:
        if stix_version != "2.0" or not binds_one_observation(pattern):
            return reference(self, pattern, observed, verbose, stix_version)  # type: ignore[no-any-return]
        keep = compile_pattern(pattern).match_observations(observed)
        return [obs for obs, kept in zip(observed, keep.tolist(), strict=True) if kept]

    connector.Connector.match = match
    connector.json = _KeyCheckingJson(connector.json)
    setattr(connector.Connector, _INSTALLED, True)


class _KeyCheckingJson:
    """The connector's ``json`` module, whose ``loads`` also names repeated keys (change 4)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def loads(self, text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        value = self._module.loads(text, *args, **kwargs)
        json_keys.check_text(text, value)
        return value


def _exit_regex(self: Any, ctx: Any) -> None:
    regex = unicodedata.normalize("NFC", _string_literal(ctx))
    text = compile_linear(regex)
    latin1 = max(map(ord, regex), default=0) < 256
    binary = compile_linear(regex.encode("latin-1")) if latin1 else None

    def found(value: object) -> bool:
        if isinstance(value, str):
            return text.search(unicodedata.normalize("NFC", value)) is not None
        return isinstance(value, bytes) and binary is not None and binary.search(value) is not None

    _push_test(self, ctx, "exitPropTestRegex", found)


def _exit_subset(self: Any, ctx: Any) -> None:
    outer = networks.network(_string_literal(ctx))
    _push_test(self, ctx, "exitPropTestIsSubset", lambda value: networks.contains(outer, value))


def _exit_superset(self: Any, ctx: Any) -> None:
    inner = networks.network(_string_literal(ctx))
    test = lambda value: networks.contained_by(value, inner)  # noqa: E731
    _push_test(self, ctx, "exitPropTestIsSuperset", test)


def _push_test(listener: Any, ctx: Any, label: str, test: Callable[[Any], bool]) -> None:
    """Replace the values on the listener's stack by the observations passing ``test``
    (negated by ``NOT``), as each of stix2-matcher's own property tests does."""
    negated = bool(ctx.NOT())
    values = listener._MatchListener__pop(label)
    passed = matcher._obs_map_prop_test(values, lambda value: test(value) != negated)
    listener._MatchListener__push(passed, label)


def _string_literal(ctx: Any) -> str:
    return str(matcher._literal_terminal_to_python_val(ctx.StringLiteral()))
