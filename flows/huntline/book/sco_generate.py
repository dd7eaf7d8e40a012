"""Writes :mod:`huntline.book.sco_table`, the properties of each STIX cyber-observable type,
from the ``stix2`` library's own definitions of STIX 2.0 and 2.1 (their union: data sources
speak either version), not from a hand-written copy of the specification::

    python -m huntline.book.sco_generate

Why a generated table: ``validate`` and ``compile`` check every column an alert reads against
these properties (:mod:`huntline.book.sco_properties`), and importing ``stix2`` to read them
cost about 0.12 s of the 0.5 s a start may take (``bench/startup.py``).
tests/unit/book/test_sco_table.py fails when the committed table differs from what the
installed ``stix2`` defines, and names this command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REGENERATE = "python -m huntline.book.sco_generate"
TABLE = Path(__file__).with_name("sco_table.py")
Properties = dict[str, frozenset[str] | None]
HEAD = f'''"""The properties of each STIX cyber-observable type, in STIX 2.0 or 2.1, each with the
types a reference may point to (None: not a single reference, or open-ended targets).

Generated from stix2 {{version}} by `{REGENERATE}`: do not edit.
"""

from __future__ import annotations

PROPERTIES: dict[str, dict[str, frozenset[str] | None]] = {{{{
'''


def _definitions() -> dict[str, dict[str, Any]]:
    """STIX version -> SCO type -> the stix2 class defining it."""
    import stix2.registry

    stix2.registry._collect_stix2_mappings()
    return {
        version: dict(maps["observables"])
        for version, maps in stix2.registry.STIX2_OBJ_MAPS.items()
    }


def from_stix2() -> dict[str, Properties]:
    """SCO type -> its properties in STIX 2.0 or 2.1, each with the types it may reference."""
    from stix2.properties import ObjectReferenceProperty, ReferenceProperty

    table: dict[str, dict[str, set[str] | None]] = {}
    for observables in _definitions().values():
        for sco_type, cls in observables.items():
            found = table.setdefault(sco_type, {})
            for name, prop in cls._properties.items():
                targets: set[str] = set()
                if isinstance(prop, ObjectReferenceProperty):
                    targets = set(prop.valid_types or ())
                elif isinstance(prop, ReferenceProperty) and prop.auth_type == 0:
                    targets = set(prop.specifics or ())  # auth_type 0: the types allowed
                if name.endswith("_ref") and targets:
                    found[name] = targets | (found.get(name) or set())
                else:
                    found.setdefault(name, None)
    return {
        sco_type: {name: frozenset(t) if t else None for name, t in found.items()}
        for sco_type, found in table.items()
    }


def render(table: dict[str, Properties]) -> str:
    """The text of ``sco_table.py`` for ``table``, sorted, as ``ruff format`` leaves it."""
    import stix2

    lines = [HEAD.format(version=stix2.__version__).rstrip()]
    for sco_type, properties in sorted(table.items()):
        lines.append(f'    "{sco_type}": {{')
        for name, targets in sorted(properties.items()):
            listed = ", ".join(f'"{target}"' for target in sorted(targets or ()))
            lines.append(f'        "{name}": {f"frozenset({{{listed}}})" if targets else None},')
        lines.append("    },")
    return "\n".join([*lines, "}", ""])


def main() -> None:
    TABLE.write_text(render(from_stix2()))
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
