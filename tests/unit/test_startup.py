"""What the ``huntline`` command imports to start: ``--help``, ``validate`` and ``compile`` must
start in well under a second (``bench/startup.py`` measures it), so building the parser imports
no Prefect, rich, pandas or intel models, and checking a book, with or without a schedule or an
``apply`` step, imports no Prefect (a cron is checked by croniter, see
``huntline.book.schedule``), no stix2 (alert columns are checked against the generated
``huntline.book.sco_table``) and no Docker client (an image ``analytics_images/`` builds needs
no engine to check). Each check runs in a fresh interpreter, whose ``sys.modules`` tells."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "prefect",
    "rich",
    "pandas",
    "pyarrow",
    "great_expectations",
    "docker",
    "boto3",
    "stix_shifter",
    "huntline.intel.model",
    "huntline.book",
    "stix2",
    "requests",
)
ROOT = Path(__file__).resolve().parents[2]
BOOK = """\
id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11
title: No schedule
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
    where: "[process:name = 'whoami.exe']"
  - expect: procs
    checks: [{rows: {min: 0}}]
alert:
  on: procs
  when: name == 'whoami.exe'
  title: "whoami on {x_host}"
"""
SCHEDULE = """\
schedule:
  cron: "*/30 * * * *"
  timezone: Europe/Paris
"""
APPLY = """\
  - apply: docker://susp_scoring
    on: procs
"""


def imported_after(code: str) -> set[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,  # where analytics_images/ is
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name for name in HEAVY if name in loaded}


def test_building_the_parser_imports_nothing_heavy() -> None:
    code = "from huntline.cli import build_parser; build_parser()"
    assert imported_after(code) == set()


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import contextlib, io\nfrom huntline.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])"
    )
    assert imported_after(code) == set()


def test_checking_a_book_imports_no_prefect_nor_pandas(tmp_path: Path) -> None:
    plain, scheduled, applied = (tmp_path / f"{n}.yaml" for n in ("plain", "scheduled", "apply"))
    plain.write_text(BOOK)
    scheduled.write_text(BOOK + SCHEDULE)
    applied.write_text(BOOK.replace("  - expect:", APPLY + "  - expect:"))
    for command, book in itertools.product(("validate", "compile"), (plain, scheduled, applied)):
        code = (
            "import contextlib, io\nfrom huntline.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main([{command!r}, {str(book)!r}]) == 0"
        )
        loaded = imported_after(code)
        assert loaded <= {"rich", "huntline.book"}, (command, book, loaded)
