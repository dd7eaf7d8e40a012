"""The indicators a book can name: ``{{ intel.TYPE }}`` in a ``get`` step's pattern.

A placeholder ``{{ intel.TYPE }}`` stands for a STIX set of the run's indicators of that type.
The types, and the STIX object path each one stands for (:data:`STIX_PATHS`, so a STIX
indicator ``[file:hashes.'SHA-256' = '…']`` is a ``sha256`` indicator and back), are part of
the book's language, so they live here: the book checks its placeholders without importing the
intel stage, which reads the same table to parse feeds (:mod:`huntline.intel.model`) and fills
the placeholders at run time (:mod:`huntline.intel.template`).
"""

from __future__ import annotations

import re

# Indicator type -> the STIX object path that holds it.
STIX_PATHS: dict[str, str] = {
    "ipv4": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "domain": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
    "file_name": "file:name",
}
INDICATOR_TYPES = tuple(STIX_PATHS)

PLACEHOLDER = re.compile(r"\{\{\s*intel\.([A-Za-z0-9_]+)\s*\}\}")
# What a placeholder stands for while a book is validated, before any indicator exists.
SAMPLE_SET = "('x')"


def placeholders(pattern: str) -> list[str]:
    """The indicator types a pattern's placeholders name, in order, repeated as written."""
    return PLACEHOLDER.findall(pattern)


def unknown_placeholders(pattern: str) -> list[str]:
    return [kind for kind in placeholders(pattern) if kind not in INDICATOR_TYPES]


def sample(pattern: str) -> str:
    """``pattern`` with placeholders replaced by a one-value set, to validate its syntax."""
    return PLACEHOLDER.sub(SAMPLE_SET, pattern)
