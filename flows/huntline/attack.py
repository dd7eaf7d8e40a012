"""ATT&CK coverage: a MITRE ATT&CK Navigator layer from hunt books' ``attack.tNNNN`` tags.

Each technique a book is tagged with (``attack.t1059.001`` → ``T1059.001``) scores one point
per book, so the layer shows how many hunts look for each technique, in the way the Sigma
ecosystem exports rule coverage. Tactic tags (``attack.execution``) name no technique and are
left out. The layer follows the Navigator's layer format 4.5 and opens in the Navigator as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from huntline.book import HuntBook

TECHNIQUE_TAG = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$")
LAYER_VERSIONS = {"attack": "16", "navigator": "5.1.0", "layer": "4.5"}


def techniques(book: HuntBook) -> list[str]:
    """The ATT&CK technique ids a book is tagged with, upper case, in tag order."""
    found = (TECHNIQUE_TAG.match(tag) for tag in book.tags)
    return list(dict.fromkeys(match.group(1).upper() for match in found if match))


def attack_layer(
    books: Iterable[tuple[Path, HuntBook]], name: str = "huntline coverage"
) -> dict[str, Any]:
    """A Navigator layer scoring each technique by the number of books tagged with it."""
    covered: dict[str, list[str]] = {}
    for path, book in books:
        for technique in techniques(book):
            covered.setdefault(technique, []).append(f"{book.title} ({path.name})")
    top = max((len(titles) for titles in covered.values()), default=1)
    return {
        "name": name,
        "versions": LAYER_VERSIONS,
        "domain": "enterprise-attack",
        "description": "Techniques the hunt books look for; the score is the number of books.",
        "sorting": 3,
        "hideDisabled": False,
        "techniques": [
            {
                "techniqueID": technique,
                "score": len(titles),
                "comment": "; ".join(titles),
                "enabled": True,
                "showSubtechniques": True,
                "metadata": [{"name": "book", "value": title} for title in titles],
            }
            for technique, titles in sorted(covered.items())
        ],
        "gradient": {"colors": ["#ffe766", "#8ec843"], "minValue": 0, "maxValue": top},
        "legendItems": [],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }
