"""Where a streamed fetch's memory goes: peak RSS per phase of ``EntitySpool`` + ``TableWriter``.

::

    python bench/fetch_memory.py --observations 1000000      # ~5 min on 2 vCPUs

Generated observations (``bench/stixgen.py``, seed 1) are added in pages of 1,000, as a paged
source delivers them; then every type is merged ("build") and written through
``storage.TableWriter`` ("write"). A thread samples ``/proc/self/status`` every 50 ms and keeps
the peak ``VmRSS`` of each phase, split into ``RssAnon`` (heap) and ``RssFile`` (mapped files:
libraries, and any memory-mapped spool file still referenced). ``fetch_flatten.py`` reports the
same run's overall peak; this script says which phase sets it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stixgen  # noqa: E402

FIELDS = ("VmRSS", "RssAnon", "RssFile")


def memory_mb() -> tuple[int, ...]:
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in FIELDS:
            found[name] = int(value.split()[0]) // 1024
    return tuple(found[name] for name in FIELDS)


class PhasePeaks:
    """The peak of :func:`memory_mb` while each phase runs, sampled from a daemon thread."""

    def __init__(self) -> None:
        self.phase = "imports"
        self.peaks: dict[str, tuple[int, ...]] = {}
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            now, phase = memory_mb(), self.phase
            self.peaks[phase] = max(self.peaks.get(phase, now), now)
            time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=200_000)
    args = parser.parse_args()

    from huntline.fetch import EntitySpool
    from huntline.storage import FileStore
    from huntline.tables import TableWriter

    peaks = PhasePeaks()
    time.sleep(0.2)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, EntitySpool() as spool:
        peaks.phase = "add"
        page = []
        for obs in stixgen.observations(args.observations, seed=1, match_fraction=0.1):
            page.append(obs)
            if len(page) == 1000:
                spool.add(page)
                page = []
        spool.add(page)
        added = time.perf_counter()
        for sco_type in spool.types():
            peaks.phase = f"build {sco_type}"
            spool._lookup(sco_type)  # the merge alone, to see its own peak
            peaks.phase = f"write {sco_type}"
            with TableWriter(FileStore(Path(scratch)), f"{sco_type}.parquet") as writer:
                for batch in spool.batches(sco_type):
                    writer.append(batch)
                writer.commit()
    written = time.perf_counter()
    time.sleep(0.2)
    print(f"{'phase':<28} {'VmRSS':>7} {'RssAnon':>8} {'RssFile':>8}  (MB)")
    for phase, (rss, anon, mapped) in peaks.peaks.items():
        print(f"{phase:<28} {rss:>7} {anon:>8} {mapped:>8}")
    print(f"add {added - start:.1f} s, build + write {written - added:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
