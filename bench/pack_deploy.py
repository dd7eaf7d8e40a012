"""Deploying a big rule pack: ``huntline deploy`` of a folder of N Sigma member books and the
pack over them, against a fresh Prefect server.

Builds a project in a temporary folder (the checkout's ``flows/`` entrypoints, the member books
``huntline sigma convert`` writes from ``../shared/data/sigma/rules/windows/process_creation``,
and one pack with a schedule over them), then times, each as the ``huntline`` command a user
runs:

- ``huntline deploy --write-only`` (no server: the pack validated, the files written);
- ``huntline deploy`` against a fresh server (the first registration), and again (nothing to
  change);
- ``prefect --no-prompt deploy --all`` from the generated ``prefect.yaml``.

It prints the deployments made (one for the pack, none per member), the wall and CPU time of
each command and the load average, and stops everything it started.

    .venv/bin/python bench/pack_deploy.py                 # every convertible rule (~1,150)
    .venv/bin/python bench/pack_deploy.py --rules 100
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHARED = Path(os.environ.get("HUNTLINE_SHARED_DATA") or REPO.parent / "shared/data")
RULES = SHARED / "sigma/rules/windows/process_creation"
PACK = """\
pack: big-sigma
title: Sigma process-creation rules ({count})
source: edr
entity: process
window: {{last: 35m}}
schedule: {{cron: "*/30 * * * *", timezone: UTC}}
members: ../sigma/
"""


def timed(label: str, command: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run ``command``; print its wall time, the CPU time of it and its children, the load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{label:<40} {wall:7.1f} s wall {cpu:7.1f} s CPU   (load {load})")
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def project(work: Path, rules: int | None) -> Path:
    root = work / "project"
    (root / "flows").mkdir(parents=True)
    for entrypoint in ("hunt.py", "pack.py"):
        shutil.copy(REPO / "flows" / entrypoint, root / "flows" / entrypoint)
    source = sorted(RULES.glob("*.yml"))[:rules] if rules else [RULES]
    sigma = root / "hunts" / "sigma"
    command = [sys.executable, "-m", "huntline.cli", "sigma", "convert"]
    subprocess.run(
        [*command, *map(str, source), "--into", str(sigma), "--source", "edr"],
        capture_output=True,
        check=False,
    )  # fmt: skip  (rules that do not convert are reported and skipped)
    count = sum(1 for p in sigma.glob("*.yaml") if not p.name.endswith(".tests.yaml"))
    (root / "hunts" / "packs").mkdir()
    (root / "hunts" / "packs" / "big.pack.yaml").write_text(PACK.format(count=count))
    print(f"{count} member books in {sigma}")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, help="convert only the first N rule files")
    args = parser.parse_args()
    from huntline.prefect.server import start_local_server
    from huntline.prefect.server_port import keep_port

    with tempfile.TemporaryDirectory(prefix="pack-deploy-") as folder:
        work = Path(folder)
        root = project(work, args.rules)
        env = {**os.environ, "HUNTLINE_STORAGE": str(work / "store")}
        env.pop("PREFECT_UI_URL", None)  # the UI of the server started here, not another
        huntline = [sys.executable, "-m", "huntline.cli"]
        timed("huntline deploy --write-only", [*huntline, "deploy", "--write-only"], root, env)
        (work / "prefect").mkdir()
        keep_port(work / "prefect", _free_port())  # never the usual 4200: the machine is shared
        server = start_local_server(work / "prefect")
        try:
            env["PREFECT_API_URL"] = server.api_url
            first = timed("huntline deploy (first)", [*huntline, "deploy"], root, env)
            again = timed("huntline deploy (again)", [*huntline, "deploy"], root, env)
            timed(
                "prefect --no-prompt deploy --all",
                [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
                root,
                env,
            )
            print(first.strip().splitlines()[0])
            made, kept = first.count("create"), again.count("unchanged")
            print(f"first: {made} created; again: {kept} unchanged")
        finally:
            if server.pid:
                os.killpg(server.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
