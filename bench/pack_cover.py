"""stix-shifter's translation cost for a pack's covering OR of N Sigma-derived patterns.

::

    PYTHONPATH=flows .venv/bin/python bench/pack_cover.py [--sizes 10,100,200,400,500,913]

The patterns: every rule of ``shared/data/sigma/rules/windows/process_creation`` that
``huntline sigma convert`` turns into a pushed-down pattern (913 at SigmaHQ 8eaafff). For each
size N and connector (elastic_ecs, mysql), the first N are ORed as the pack ORs them
(:func:`huntline.packs.cover.covering_fetch`: comparison expressions inside one observation,
with a one-hour START/STOP) and translated once; the CPU time, the native queries and their
size are printed. The figures chose :data:`huntline.packs.cover.CHUNK` (see its module).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from huntline.fetch.sources.pattern import with_window
from huntline.packs.cover import CHUNK, or_pattern
from huntline.sigma.convert import convert_paths
from huntline.window import Window

SHARED = Path(
    os.environ.get("HUNTLINE_SHARED_DATA") or Path(__file__).parents[1].parent / "shared/data"
)
OPTIONS = {"elastic_ecs": {}, "mysql": {"table": "events"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,200,400,500,913")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # stix-shifter logs every failed translation
    from datetime import UTC, datetime

    from stix_shifter.stix_translation.stix_translation import StixTranslation

    folder = SHARED / "sigma/rules/windows/process_creation"
    patterns = [
        result.conversion.pattern
        for result in convert_paths([folder])
        if result.conversion is not None and result.conversion.pattern
    ]
    print(f"{len(patterns)} Sigma patterns; the pack ORs at most {CHUNK} per query")
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, tzinfo=UTC))
    translation = StixTranslation()
    for connector, options in OPTIONS.items():
        for size in (int(n) for n in args.sizes.split(",")):
            pattern = with_window(or_pattern(patterns[:size]), window)
            began = time.process_time()
            answer = translation.translate(connector, "query", "{}", pattern, options)
            cpu = time.process_time() - began
            queries = answer.get("queries") if isinstance(answer, dict) else None
            if queries:
                size_kb = sum(len(str(q)) for q in queries) / 1024
                what = f"{len(queries)} queries, {size_kb:.0f} KB"
            else:
                what = f"failed: {answer.get('error') if isinstance(answer, dict) else answer}"
            print(f"{connector:12} {min(size, len(patterns)):5} members  {cpu:6.2f} s CPU  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
