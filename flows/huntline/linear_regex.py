"""Regexes from hunt books, run in linear time (RE2), checked when the book loads.

Why: a book's regex meets telemetry that an attacker may shape. Python's ``re`` backtracks, so
``[process:name MATCHES '(a+)+$']`` cost 29 s of CPU on a 29-character name and doubled with
each character. RE2 matches in time linear in the text, whatever the regex; the price is that
it refuses look-around and back-references, and a book that uses them is told so by
``validate`` rather than at run time.

Every place huntline itself matches a book's regex goes through RE2: conditions'
``matches`` (pyarrow's ``match_substring_regex``, which is RE2), the local STIX evaluation
(:mod:`huntline.fetch.tables.select`, pyarrow too), and stix2-matcher's ``MATCHES`` for
bundles (:func:`compile_linear`, google-re2, the same engine). pandas' own ``str.contains``
is not used for this: it falls back to Python's ``re`` for a regex RE2 refuses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

HINT = "huntline runs regexes with RE2 (linear time): no look-around, no back-references"


class RegexError(ValueError):
    """A regex RE2 cannot compile; the message says why."""


def _options(binary: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # the error is raised with its reason; absl's log is noise
    if binary:  # a bytes regex matches bytes, one character per byte, as Python's re does
        options.encoding = re2.Options.Encoding.LATIN1
    return options


@lru_cache(maxsize=256)
def compile_linear(pattern: str | bytes) -> Any:
    """The RE2 regex for ``pattern`` (str or bytes), searched like ``re.search``.

    Raises:
        RegexError: RE2 refuses it (a syntax error, look-around, a back-reference, too big).
    """
    try:
        return re2.compile(pattern, _options(isinstance(pattern, bytes)))
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        raise RegexError(f"regex {pattern!r} is not valid RE2: {reason}") from None


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot run (for ``validate``), or None."""
    try:
        compile_linear(pattern)
    except RegexError as error:
        return str(error)
    return None
