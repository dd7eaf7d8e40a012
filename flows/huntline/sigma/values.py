"""One Sigma value test -> its two halves: an exact local condition and a STIX superset.

The local half is huntline's condition language with Sigma's semantics: strings compare
case-insensitively unless ``|cased``, ``*`` and ``?`` are wildcards, ``|re`` searches (its ``i``,
``m``, ``s`` flags inline), and a field the table lacks is null (``field("...")``). The common
shapes get the direct text tests (``icontains``, ``istartswith``, ``iendswith``, ``lower(x) ==``),
which are cheaper than a regular expression and read like the rule; any other wildcard pattern
becomes an anchored ``matches``.

The STIX half is a regular expression for ``MATCHES`` on one object path, or None when the test
cannot narrow the fetch (negations, nulls, connector-only fields): it may only ever keep more
rows than the local half, never fewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from huntline.sigma.fields import PATHS

Part = str | SpecialChars
_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


@dataclass(frozen=True)
class StixTest:
    """``<entity>:<path> MATCHES '<regex>'``, one comparison of the pushed-down pattern."""

    path: str
    regex: str


def column_expression(column: str) -> str:
    """The condition-language expression that reads ``column`` (a path column is computed)."""
    if column in PATHS:
        prefix = column[: -len("path")]
        return f"path(field({prefix + 'parent_directory_ref.path'!r}), field({prefix + 'name'!r}))"
    return f"field({column!r})"


def string_parts(value: SigmaString, field: str) -> list[Part]:
    """The text and wildcards of a Sigma string; placeholders are not supported."""
    parts: list[Part] = []
    for part in value.s:
        if isinstance(part, str | SpecialChars):
            parts.append(part)
        else:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field {field}: placeholder %{part.name}% is not supported: resolve it with a "
                "placeholder pipeline first"
            )
    return parts


def local_string(expression: str, parts: list[Part], cased: bool) -> str:
    """The local test of ``expression`` against a Sigma string."""
    star = SpecialChars.WILDCARD_MULTI
    texts = [part for part in parts if isinstance(part, str)]
    specials = [part for part in parts if not isinstance(part, str)]

    def lit(text: str) -> str:
        return repr(text if cased else text.lower())

    if not specials:
        text = "".join(texts)
        return f"{expression} == {lit(text)}" if cased else f"lower({expression}) == {lit(text)}"
    prefix = "" if cased else "i"
    if parts == [star]:
        return f"exists({expression})"
    if len(parts) == 3 and parts[0] is star and parts[2] is star and isinstance(parts[1], str):
        return f"{prefix}contains({expression}, {lit(parts[1])})"
    if len(parts) == 2 and parts[1] is star and isinstance(parts[0], str):
        return f"{prefix}startswith({expression}, {lit(parts[0])})"
    if len(parts) == 2 and parts[0] is star and isinstance(parts[1], str):
        return f"{prefix}endswith({expression}, {lit(parts[1])})"
    flags = "(?s)" if cased else "(?is)"
    return f"matches({expression}, {flags + '^' + _regex_body(parts) + '$'!r})"


_METACHARACTERS = re.compile(r"([.^$*+?{}\[\]\\|()])")


def escape(text: str) -> str:
    """``text`` as a regular expression: only the metacharacters escaped (``re.escape`` also
    escapes spaces and dashes, which reads badly in a pattern and means the same)."""
    return _METACHARACTERS.sub(r"\\\1", text)


def _regex_body(parts: list[Part]) -> str:
    return "".join(
        escape(part)
        if isinstance(part, str)
        else (".*" if part is SpecialChars.WILDCARD_MULTI else ".")
        for part in parts
    )


def stix_string(column: str, parts: list[Part], cased: bool) -> StixTest | None:
    """A MATCHES test that every value meeting the Sigma string meets (None: no narrowing)."""
    star = SpecialChars.WILDCARD_MULTI
    if column in PATHS:
        return _name_test(column, parts, cased)
    anchored = True
    while parts and parts[0] is star:
        parts, anchored = parts[1:], False
    open_end = bool(parts) and parts[-1] is star
    while parts and parts[-1] is star:
        parts = parts[:-1]
    if not parts:
        return None
    body = _regex_body(parts)
    # a wildcard matches line breaks too (command lines have them): DOTALL where there is one
    flags = ("" if cased else "i") + ("s" if any(not isinstance(p, str) for p in parts) else "")
    prefix = f"(?{flags})" if flags else ""
    regex = prefix + ("^" if anchored else "") + body + ("" if open_end else "$")
    return StixTest(column, regex)


def _name_test(column: str, parts: list[Part], cased: bool) -> StixTest | None:
    """What a full-path pattern implies about the file's name (the text after the path's last
    separator): only its literal ending counts, since any wildcard may span separators.

    An ending with a separator in it fixes the name (``*\\cmd.exe``: the name is ``cmd.exe``);
    an ending without one is the name's ending (``*.exe``); a pattern ending in a wildcard
    implies nothing.
    """
    if not parts or not isinstance(parts[-1], str):
        return None
    ending = parts[-1]
    cut = max(ending.rfind("\\"), ending.rfind("/"))
    name = column[: -len("path")] + "name"
    flags = "" if cased else "(?i)"
    if cut >= 0:
        tail = ending[cut + 1 :]
        return StixTest(name, f"{flags}^{escape(tail)}$") if tail else None
    return StixTest(name, f"{flags}{escape(ending)}$")


def regex_with_flags(value: SigmaRegularExpression) -> str:
    """The rule's regular expression with its flags inline, as Python's ``re`` reads it."""
    flags = "".join(sorted(_FLAGS[flag] for flag in value.flags))
    return (f"(?{flags})" if flags else "") + str(value.regexp)
