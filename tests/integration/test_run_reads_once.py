"""``huntline run`` reads and compiles its book once (issue 21 item 5): the command checks the
book before it starts anything, and the flow it runs in the same process uses that read and
plan (:func:`huntline.schedule.prepare.checked_hunt`), so the manifest's sha256 is that of the
bytes checked and run. The command runs as a user runs it, with the loader counting reads."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server]

COUNTED = """\
import json, sys
from huntline.book import loader
reads = []
load_yaml = loader.load_yaml
def counted(path, *args):
    reads.append(str(path))
    return load_yaml(path, *args)
loader.load_yaml = counted
from huntline.cli import main
code = main(sys.argv[1:])
print("READS " + json.dumps(reads), file=sys.stderr)
sys.exit(code)
"""


def test_huntline_run_reads_its_book_once(repo_root: Path, prefect_server, tmp_path: Path) -> None:
    book = tmp_path / "procs.yaml"
    book.write_text(
        "id: 2f4b6d8e-0a1c-4e3f-8b5d-7c9e1f3a5b7d\ntitle: Processes\nsteps:\n"
        "  - get: procs\n    entity: process\n"
        "    from: file://hunts/data/sample_endpoint_bundle.json\n"
    )
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-c", COUNTED, "run", str(book), "--json", "--storage", store.as_uri(),
         "--start", "2024-06-03T00:00:00Z", "--stop", "2024-06-04T00:00:00Z"],
        cwd=repo_root,
        env={**os.environ, "PREFECT_API_URL": prefect_server.api_url},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (reads,) = [line for line in done.stderr.splitlines() if line.startswith("READS ")]
    assert json.loads(reads.removeprefix("READS ")) == [str(book)]
    summary = json.loads(done.stdout)
    assert summary["tables"]["procs"]["rows"] > 0
    manifest = json.loads(Path(summary["manifest_uri"].removeprefix("file://")).read_text())
    assert manifest["book"]["sha256"] == hashlib.sha256(book.read_bytes()).hexdigest()
