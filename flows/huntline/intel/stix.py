"""STIX 2.1 bundles of indicators, from a file or a URL.

Only what a hunt can template is kept: the simple comparisons of an indicator's STIX pattern,
``[ipv4-addr:value = '203.0.113.7']`` or ``[file:name IN ('a.exe', 'b.exe')]``, on the object
paths of :data:`~huntline.intel.model.STIX_PATHS`. Revoked indicators, and indicators whose
pattern is in another language (Sigma, YARA…), are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from huntline.errors import IntelError
from huntline.intel.model import STIX_PATHS, FeedConfig, Indicator
from huntline.intel.source import read_source

# path = 'value'  or  path IN ('a', 'b'); values are STIX strings with '' and \' escapes.
_STRING = r"'(?:[^'\\]|\\.)*'"
_COMPARISON = re.compile(
    rf"([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s*(=|IN)\s*(\(\s*{_STRING}(?:\s*,\s*{_STRING})*\s*\)|{_STRING})"
)


def _normal_path(path: str) -> str:
    return path.replace("'", "").replace("-", "").lower()


_TYPE_OF_PATH = {_normal_path(path): kind for kind, path in STIX_PATHS.items()}


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def pattern_indicators(pattern: str) -> list[tuple[str, str]]:
    """The (type, value) pairs a STIX pattern compares against, for the known object paths."""
    found: list[tuple[str, str]] = []
    for path, _operator, operand in _COMPARISON.findall(pattern):
        kind = _TYPE_OF_PATH.get(_normal_path(path))
        if kind is None:
            continue
        found.extend((kind, _unquote(value)) for value in re.findall(_STRING, operand))
    return found


def indicators_of(name: str, objects: Iterable[Any]) -> list[Indicator]:
    """The indicators among STIX objects (other objects are ignored)."""
    found: list[Indicator] = []
    for item in objects:
        if not isinstance(item, dict) or item.get("type") != "indicator":
            continue
        if item.get("revoked") or item.get("pattern_type", "stix") != "stix":
            continue
        pattern = item.get("pattern")
        if not isinstance(pattern, str):
            raise IntelError(
                f"intel feed {name!r}: indicator {item.get('id', '?')} has no pattern",
                feed=name,
            )
        source = str(item.get("id", ""))
        found.extend(
            Indicator(type=kind, value=value, feed=name, source_id=source)
            for kind, value in pattern_indicators(pattern)
        )
    return found


class StixFeed:
    """``kind: stix``: a STIX 2.1 bundle (``{"type": "bundle", "objects": [...]}``)."""

    kind = "stix"

    def read(self, name: str, config: FeedConfig) -> list[Indicator]:
        raw = read_source(name, config)
        try:
            bundle = json.loads(raw)
        except ValueError as error:
            raise IntelError(
                f"intel feed {name!r}: {config.location} is not JSON: {error}", feed=name
            ) from error
        if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
            raise IntelError(
                f"intel feed {name!r}: {config.location} is not a STIX bundle "
                "(expected an object with type 'bundle')",
                feed=name,
            )
        objects = bundle.get("objects", [])
        if not isinstance(objects, list):
            raise IntelError(
                f"intel feed {name!r}: the bundle's 'objects' is not a list", feed=name
            )
        return indicators_of(name, objects)
