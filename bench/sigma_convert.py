"""Conversion of every Sigma rule in shared/data/sigma: time, and the share converted per log
source (goals: >= 80% of windows/process_creation; all rules in under 60 s).

    PYTHONPATH=flows .venv/bin/python bench/sigma_convert.py [SIGMA_DIR]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from huntline.cli.sigma import coverage


def main() -> int:
    default = (
        os.environ.get("HUNTLINE_SHARED_DATA") or Path(__file__).parents[1].parent / "shared/data"
    )
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(default) / "sigma"
    started, cpu = time.perf_counter(), time.process_time()
    report = coverage([folder])
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{report['converted']} of {report['rules']} rules converted in {wall:.1f} s "
        f"({used:.1f} s CPU)"
    )
    for source, counts in list(report["log_sources"].items())[:15]:
        print(
            f"  {source:45} {counts['converted']:5} / {counts['rules']:<5} "
            f"{counts['converted'] / counts['rules']:6.1%}"
        )
    for reason, group in report["failures"].items():
        print(f"  not converted: {reason}: {group['count']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
