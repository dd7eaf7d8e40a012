"""The one parser of ``scheme://rest`` strings: data sources, analytics references, alert
destinations and storage roots all name what handles them by a scheme.

The scheme is what comes before the first ``://``, lower-cased (URL schemes are case-
insensitive); a string without ``://`` has none (``""``), and each registry decides what that
means (a stix-shifter profile, a Docker image, a named destination, a local path).
"""

from __future__ import annotations

SEPARATOR = "://"


def split_scheme(text: str) -> tuple[str, str]:
    """``(scheme, rest)`` of ``text`` (stripped): ``("docker", "NAME")`` for ``docker://NAME``,
    ``("", text)`` when there is no ``://``."""
    text = text.strip()
    scheme, found, rest = text.partition(SEPARATOR)
    return (scheme.lower(), rest) if found else ("", text)


def scheme_of(text: str, default: str = "") -> str:
    """The scheme of ``text``, or ``default`` when it has none."""
    return split_scheme(text)[0] or default


def has_scheme(text: str) -> bool:
    """Whether ``text`` names its handler by a scheme (it contains ``://``)."""
    return SEPARATOR in text
