"""stix2-matcher's ``MATCHES`` in linear time: RE2 instead of Python's backtracking ``re``.

Why: stix2-matcher evaluates ``MATCHES`` with ``re.search``, so a bundle's text could make one
pattern cost minutes of CPU (``(a+)+$`` on 29 characters took 29 s and doubled with each
one). It runs inside huntline's process twice over: for ``file://`` bundles
(:mod:`huntline.fetch.sources.bundle`) and inside stix-shifter's ``stix_bundle`` connector
(HTTP bundles). Both build ``stix2matcher.matcher.MatchListener``, so :func:`install`
replaces that class's one method, the way stix-shifter's connector itself patches its
START/STOP handling; nothing else of the library changes.

The semantics are stix2-matcher's: the regex and text strings are NFC-normalised and searched
(unanchored); a binary value is searched with the regex as Latin-1 bytes; any other value does
not match; ``NOT MATCHES`` negates. A regex RE2 refuses raises
:class:`~huntline.linear_regex.RegexError` (``validate`` reports it before any run).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from stix2matcher import matcher

from huntline.linear_regex import compile_linear


def _exit_prop_test_regex(self: Any, ctx: Any) -> None:
    regex = matcher._literal_terminal_to_python_val(ctx.StringLiteral())
    regex = unicodedata.normalize("NFC", regex)
    text = compile_linear(regex)
    binary = (
        compile_linear(regex.encode("latin-1")) if max(map(ord, regex), default=0) < 256 else None
    )
    negated = bool(ctx.NOT())

    def test(value: object) -> bool:
        if isinstance(value, str):
            found = text.search(unicodedata.normalize("NFC", value)) is not None
        elif isinstance(value, bytes):
            found = binary is not None and binary.search(value) is not None
        else:
            found = False
        return found != negated

    label = f"exitPropTestRegex ({'not ' if negated else ''}{ctx.StringLiteral().getText()})"
    values = self._MatchListener__pop(label)
    self._MatchListener__push(matcher._obs_map_prop_test(values, test), label)


def install() -> None:
    """Make every stix2-matcher ``MatchListener`` match ``MATCHES`` with RE2 (idempotent)."""
    matcher.MatchListener.exitPropTestRegex = _exit_prop_test_regex
