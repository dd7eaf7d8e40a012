"""What guarding a pack's covering OR costs: which comparisons a connector maps, per member.

::

    PYTHONPATH=flows .venv/bin/python bench/pack_reach.py

The patterns: the Sigma ``windows/process_creation`` rules ``huntline sigma convert`` pushes
down (913 at SigmaHQ 8eaafff), as in ``bench/pack_cover.py``. For elastic_ecs and mysql, two
ways to learn what the connector keeps of each member, timed in CPU seconds:

- ``reach``: :func:`huntline.fetch.sources.reach.reach_of` over the parsed pattern with the
  connector's mapping (the translators are built once: the first call is timed apart);
- ``translate``: stix-shifter's ``translate`` of each member alone (which only tells whether
  it fails, not what it keeps).

It then checks, for every member, that both agree: a member nothing of which maps fails
translation alone; a member partly kept translates to the same native queries as its kept
pattern (one fixed window, so the queries compare as text).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from huntline.fetch.sources.pattern import with_window
from huntline.fetch.sources.reach import connector_reach, reach_of
from huntline.patterns import compile_pattern
from huntline.sigma.convert import convert_paths
from huntline.window import Window

SHARED = Path(
    os.environ.get("HUNTLINE_SHARED_DATA") or Path(__file__).parents[1].parent / "shared/data"
)
OPTIONS: dict[str, dict[str, str]] = {"elastic_ecs": {}, "mysql": {"table": "events"}}
WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, tzinfo=UTC))


def main() -> int:
    logging.disable(logging.CRITICAL)  # stix-shifter logs every stripped field
    from stix_shifter.stix_translation.stix_translation import StixTranslation

    folder = SHARED / "sigma/rules/windows/process_creation"
    patterns = [
        r.conversion.pattern
        for r in convert_paths([folder])
        if r.conversion is not None and r.conversion.pattern
    ]
    parsed = [compile_pattern(p).parsed for p in patterns]
    print(f"{len(patterns)} Sigma patterns")
    translation = StixTranslation()
    disagreements = 0
    for connector, options in OPTIONS.items():
        began = time.process_time()
        dialects = connector_reach(connector, options)
        setup = time.process_time() - began
        began = time.process_time()
        reaches = [reach_of(p, dialects) for p in parsed]
        cpu_reach = time.process_time() - began
        began = time.process_time()
        alone = [
            translation.translate(connector, "query", "{}", with_window(p, WINDOW), options)
            for p in patterns
        ]
        cpu_alone = time.process_time() - began
        whole = sum(r.whole for r in reaches)
        none = sum(r.kept is None for r in reaches)
        print(
            f"{connector}: reach {setup:.3f} s once + {cpu_reach:.3f} s for all; translate alone "
            f"{cpu_alone:.1f} s; whole {whole}, partly kept {len(reaches) - whole - none}, "
            f"nothing kept {none}"
        )
        for pattern, reach, answer in zip(patterns, reaches, alone, strict=True):
            if reach.kept is None:
                agree = answer.get("code") == "mapping_error"
            elif reach.whole:
                agree = "queries" in answer
            else:
                kept = translation.translate(
                    connector, "query", "{}", with_window(reach.kept, WINDOW), options
                )
                agree = kept.get("queries") == answer.get("queries")
            if not agree:
                disagreements += 1
                print(f"  DISAGREE {connector}: {pattern[:120]} -> {reach}")
    print(f"disagreements: {disagreements}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
