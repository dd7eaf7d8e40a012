"""Say how YAML quoting changed a STIX pattern, when the pattern it produced does not parse.

Why: a STIX pattern has its own quotes and backslash escapes (``'...'``, ``\\'``, ``\\\\``),
and YAML applies its own first. In a double-quoted YAML string ``\\\\`` becomes ``\\`` and
``\\.`` is a YAML error; in a single-quoted one ``''`` becomes ``'``. So a pattern that is right
as STIX can reach huntline changed, and the STIX parser's message (``mismatched input '''
expecting StringLiteral``) names the changed text, not what the hunter wrote. The hint shows
both. A block scalar (``where: >-`` and the pattern on the next line) or a single-quoted string
keeps backslashes as written; the README's "Patterns in YAML" section has the rules.
"""

from __future__ import annotations

#: The YAML scalar styles PyYAML reports, in words.
_STYLES = {'"': "double-quoted", "'": "single-quoted"}
_RULES = {
    '"': "inside double quotes YAML reads a backslash as an escape (\\\\ becomes \\), so each "
    "STIX \\\\ must be written \\\\\\\\; single quotes or a block scalar (where: >-) keep "
    "backslashes as written",
    "'": "inside single quotes YAML reads '' as one ', so each ' of the pattern is written ''; "
    "a quote inside a STIX string is \\' (written \\'' here); a block scalar (where: >-) "
    "needs no doubling",
}


def quoting_hint(style: str | None, source: str, value: str) -> str | None:
    """How YAML turned the scalar ``source`` (as written, quotes included) into ``value``.

    None when the quoting changed nothing (plain and block scalars, or quotes with nothing to
    unescape), since YAML is then not the cause.
    """
    if style not in _STYLES or source[1:-1].strip() == value.strip():
        return None
    return f"YAML read the {_STYLES[style]} string {source} as {value}: {_RULES[style]}"
