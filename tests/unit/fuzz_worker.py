"""The child of test_fuzz_hostile.py: ``huntline validate`` and a short run of each book it is
sent, under a memory limit, one JSON line back per book.

One long-lived child, not one per example, because importing huntline costs seconds; the
parent times each request, so a hang is caught as well as a crash. The run is the flow's steps
without Prefect (each step's plain action, then the alert step, as a dry run), on the book's own
``file://`` bundle.

    python tests/unit/fuzz_worker.py MEMORY_BYTES    # then one {"book": PATH} per line on stdin
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def check(book: str, number: int) -> dict[str, Any]:
    from huntline.cli import main as cli
    from huntline.compile import prepare_hunt
    from huntline.errors import HuntlineError
    from huntline.steps import action_of, finish
    from huntline.steps.context import RunContext

    result: dict[str, Any] = {"rows": {}, "run_error": None, "crash": None, "coerced": {}}
    started = time.process_time()
    errors, output = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(output):
        result["validate"] = cli(["validate", book])
    result["stderr"] = errors.getvalue()
    if result["validate"] == 0:
        try:
            now = datetime(2024, 6, 4, tzinfo=UTC)
            hunt = prepare_hunt(book, now)
            context = RunContext(
                storage=f"file://{Path(book).parent / 'store'}",
                hunt_id=str(hunt.book.id),
                run_date="2024-06-04",
                flow_run_id=f"fuzz-{number}",
                dry_run=True,
            )
            tables: dict[str, Any] = {}
            for planned in hunt.plan.steps:
                reads = {name: tables[name] for name in planned.step.reads}
                window = hunt.windows.get(planned.id)
                step = action_of(planned.step).run(context, planned.id, planned.step, reads, window)
                tables.update(step.tables)
                for what, n in step.coerced.items():
                    result["coerced"][what] = result["coerced"].get(what, 0) + n
            result["rows"] = {name: ref.rows for name, ref in tables.items()}
            alert = hunt.book.alert
            if alert is not None and alert.on in tables:
                span = next(iter(hunt.windows.values()))
                finish.alert_step(context, hunt.book, tables[alert.on], now, span)
        except HuntlineError as error:
            result["run_error"] = str(error)
        except Exception:
            result["crash"] = traceback.format_exc()
    result["cpu"] = time.process_time() - started
    return result


def main() -> None:
    memory = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    for number, line in enumerate(sys.stdin):
        request = json.loads(line)
        try:
            answer = check(request["book"], number)
        except BaseException:  # the parent reports whatever escaped
            answer = {"crash": traceback.format_exc()}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
