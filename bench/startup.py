"""Benchmark: how long ``huntline --help``, ``validate`` and ``compile`` take to start and finish.

::

    python bench/startup.py                  # 7 runs of each command, the fastest counts
    python bench/startup.py --runs 15 --book hunts/beaconing.yaml
    python bench/startup.py --runs 3 --all   # validate and compile of every book in hunts/

Each command runs as a fresh interpreter calling ``huntline.cli.main`` (what the ``huntline``
script does), so the time includes the interpreter's start and every import. Reported per command:
the fastest wall time and the fastest CPU time (user + system) of the child, which moves less
than wall time on a shared machine, and what ``python`` alone costs, the floor. The goal (issue
21 item 11) is under 0.5 s for each.

The children cache compiled modules (``__pycache__``) as Python does by default (this machine
sets ``PYTHONDONTWRITEBYTECODE=1``; the children run without it), and one untimed run of each
command fills that cache: an installed huntline has its bytecode compiled.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """The fastest wall and CPU seconds of ``runs`` runs of ``command``, after one untimed run
    (which fills the bytecode cache)."""
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--book", default="hunts/suspicious_processes.yaml")
    parser.add_argument("--all", action="store_true", help="every book in hunts/, one a line")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", str(ROOT / "flows"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = [sys.executable, "-c", "import sys; from huntline.cli import main; sys.exit(main())"]
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    if args.all:
        every_book(cli, args.runs)
        return
    commands = {
        "python (floor)": [sys.executable, "-c", "pass"],
        "huntline --help": [*cli, "--help"],
        "huntline validate BOOK": [*cli, "validate", args.book],
        "huntline compile BOOK": [*cli, "compile", args.book],
    }
    print(f"{'command':<26} {'wall s':>7} {'cpu s':>7}   (fastest of {args.runs}; {args.book})")
    for name, command in commands.items():
        wall, cpu = measure(command, args.runs)
        print(f"{name:<26} {wall:>7.2f} {cpu:>7.2f}", flush=True)


def every_book(cli: list[str], runs: int) -> None:
    """The fastest CPU seconds of ``validate`` and ``compile`` of each book in ``hunts/``."""
    books = sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.glob("hunts/**/*.yaml")
        if path.name != "intel.yaml" and not path.name.endswith((".tests.yaml", ".pack.yaml"))
    )
    print(f"{'book':<60} {'validate':>8} {'compile':>8}   (cpu s, fastest of {runs})")
    worst = [0.0, 0.0]
    for book in books:
        cpus = [measure([*cli, command, book], runs)[1] for command in ("validate", "compile")]
        worst = [max(pair) for pair in zip(worst, cpus, strict=True)]
        print(f"{book:<60} {cpus[0]:>8.2f} {cpus[1]:>8.2f}", flush=True)
    print(f"{'slowest':<60} {worst[0]:>8.2f} {worst[1]:>8.2f}")


if __name__ == "__main__":
    main()
