"""A pack of N process rules over one window of 100,000 observations, against the same rules
run one by one (extrapolated from ``--alone`` of them).

::

    python bench/pack_rules.py --rules 1000 --alone 20 --observations 100000

The rules: the Sigma conversions in hunts/sigma/ where they exist, generated ones otherwise
(a process name equality, a command-line regex, a parent LIKE, by turns, with a few hits each
in the stixgen bundle). Every rule is a book of one ``get`` (``from: file://BUNDLE``, its own
pattern) and an alert. The pack fetches every process once and evaluates each member locally
(:func:`huntline.packs.run_pack`, dry run); one by one, each book fetches the bundle itself
(the ``get`` step through the bundle source) and raises its alerts (plain step calls, no
Prefect, so the 1.2-2.2 CPU-s of a flow run per book are not even counted). Both sides in
this process, wall and CPU time, and the peak RSS of the process at the end.
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import stixgen

REPO = Path(__file__).resolve().parents[1]
START, STOP = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
RULE = """\
id: {id}
title: rule {n}
window: {{last: 1h}}
steps:
  - get: procs
    entity: process
    from: file://{bundle}
    where: "{where}"
alert:
  on: procs
  when: exists(name)
  severity: medium
  title: "rule {n}: {{name}} {{pid}}"
  dedup: [name, pid]
"""
SHAPES = (
    "[process:name = 'tool{n}.exe']",
    "[process:command_line MATCHES '(?i)-enc.*{n}$']",
    "[process:parent_ref.name LIKE 'svc{n}%']",
)


def rules(folder: Path, count: int, bundle: Path) -> list[Path]:
    """``count`` member books: the Sigma books first (their source swapped for the bundle)."""
    paths: list[Path] = []
    for book in sorted((REPO / "hunts" / "sigma").glob("*.yaml")):
        if book.name.endswith(".tests.yaml") or len(paths) >= count:
            continue
        text = re.sub(r"from: edr", f"from: file://{bundle}", book.read_text())
        path = folder / book.name
        path.write_text(text)
        paths.append(path)
    for n in range(len(paths), count):
        path = folder / f"rule_{n:04d}.yaml"
        where = SHAPES[n % len(SHAPES)].format(n=n % 97)
        ident = f"00000000-0000-4000-8000-{n:012d}"
        path.write_text(RULE.format(id=ident, n=n, bundle=bundle, where=where))
        paths.append(path)
    return paths


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--alone", type=int, default=20)
    parser.add_argument("--observations", type=int, default=100_000)
    args = parser.parse_args()
    from huntline.compile import prepare_hunt
    from huntline.packs import load_pack, run_pack
    from huntline.steps import finish
    from huntline.steps.context import RunContext, StepOutput
    from huntline.steps.given_tables import alert_table
    from huntline.window import Window

    with tempfile.TemporaryDirectory(prefix="pack-rules-") as name:
        folder = Path(name)
        bundle = folder / "bundle.json"
        stixgen.write_bundle(bundle, args.observations, seed=5, match_fraction=0.01)
        members = folder / "members"
        members.mkdir()
        paths = rules(members, args.rules, bundle)
        pack_file = folder / "p.pack.yaml"
        pack_file.write_text(
            f"pack: bench\ntitle: bench\nsource: file://{bundle}\nentity: process\n"
            "window: {last: 1h}\nmembers: members/\n"
        )
        wall, cpu = time.perf_counter(), time.process_time()
        pack = load_pack(pack_file)
        report = run_pack(pack, (folder / "store").as_uri(), STOP, start=START, stop=STOP,
                          dry_run=True)  # fmt: skip
        pack_wall, pack_cpu = time.perf_counter() - wall, time.process_time() - cpu
        failed = [m.title for m in report.members if m.error]
        alerts = sum(len(m.alerts) for m in report.members)
        print(
            f"pack: {len(report.members)} rules, one fetch of {report.fetched.rows} rows in "
            f"{report.fetch_seconds:.1f} s; end to end {pack_wall:.1f} s wall, {pack_cpu:.1f} s "
            f"CPU; {alerts} alerts; {len(failed)} failed; peak RSS {peak_mb():.0f} MB",
            flush=True,
        )
        wall, cpu = time.perf_counter(), time.process_time()
        for index, path in enumerate(paths[: args.alone]):
            hunt = prepare_hunt(path, STOP, START, STOP)
            context = RunContext(
                storage=(folder / "alone").as_uri(), hunt_id=str(hunt.book.id),
                run_date="d", flow_run_id=f"alone{index}", dry_run=True,
            )  # fmt: skip
            outputs: dict[str, StepOutput] = {}
            for planned in hunt.plan.steps:
                inputs = {v: outputs[sid].tables[v] for v, sid in planned.inputs.items()}
                window = hunt.windows.get(planned.id)
                outputs[planned.id] = planned.action.run(
                    context, planned.id, planned.step, inputs, window
                )
            table = alert_table(hunt.plan, outputs, hunt.book)
            finish.alert_step(context, hunt.book, table, STOP, Window(START, STOP))
        alone_wall, alone_cpu = time.perf_counter() - wall, time.process_time() - cpu
        scale = len(report.members) / args.alone
        print(
            f"one by one: {args.alone} rules in {alone_wall:.1f} s wall, {alone_cpu:.1f} s CPU; "
            f"x{scale:.0f} = {alone_wall * scale:.0f} s wall, {alone_cpu * scale:.0f} s CPU for "
            f"{len(report.members)}; pack speed-up {alone_cpu * scale / pack_cpu:.1f}x (CPU), "
            f"{alone_wall * scale / pack_wall:.1f}x (wall)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
