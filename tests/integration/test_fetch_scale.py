"""Flattening at scale: pages merged by an EntitySpool equal one big batch, in bounded memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {bench!r})
    import stixgen
    from huntline.fetch import EntitySpool, flatten_all

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    generated = stixgen.observations({count}, seed=5, match_fraction=0.1)
    growth = []
    with EntitySpool(flush_rows=20_000) as spool:
        page = []
        for index, obs in enumerate(generated):
            page.append(obs)
            if len(page) == 1000:
                spool.add(page)
                page = []
                if index == 9_999:
                    settled = rss_mb()
        spool.add(page)
        growth = rss_mb() - settled
        paged = {{t: spool.table(t).to_pylist() for t in spool.types()}}
    whole = flatten_all(list(stixgen.observations({count}, seed=5, match_fraction=0.1)))
    assert sorted(paged) == sorted(whole)
    for sco_type, table in whole.items():
        assert paged[sco_type] == table.to_pylist(), sco_type
    print(round(growth, 1))
    """
)


def test_paged_spool_is_bounded_and_equals_one_batch() -> None:
    """40k observations: after the first 10k pages, adding 30k more grows RSS by < 150 MB
    (the id caches and 20k-row buffers), and the merged tables equal the in-memory ones."""
    code = SCRIPT.format(bench=str(REPO / "bench"), count=40_000)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    growth = float(done.stdout.strip().splitlines()[-1])
    assert growth < 150, f"RSS grew {growth} MB while adding 30k observations"
