"""Every shipped book over every shared OTRF recording: what each one fires on, or fails with.

    PYTHONPATH=flows python bench/recordings.py                  # markdown table on stdout
    PYTHONPATH=flows python bench/recordings.py --python         # analytics in-process
    PYTHONPATH=flows python bench/recordings.py --books hunts/credential_dumping.yaml \\
        --recordings ../shared/data/otrf/cmd_sam_copy_esentutl.stix.json.gz

Each recording (``*.stix.json.gz``, a STIX 2.0 bundle converted from the raw Windows events with
firepit's woodchipper, see ``../shared/data/SOURCES.md``) is unpacked once into a temporary file,
and each book runs over it through the run's plain step functions (the ones the Prefect flow wraps
one-to-one, :mod:`huntline.steps.finish`): every ``get`` reads the recording instead of its own
source, over the recording's whole time span, ``apply`` steps run their analytics (``--python`` runs
``docker://NAME`` as ``python://NAME``), gates are evaluated, then the alert step in dry-run mode. A
cell says how many alerts the book raised (``2 alerts``), that its
gate failed (``gated: 3 would-be alerts``), or the error, shortened. This is the table of the
README's "Shipped books"; the issue 23 done-when is "no cell is an error".

Retro-hunt books (``{{ intel.* }}`` in a pattern) run with the indicators of their test file's
first case when it has any, else they are reported as ``needs indicators``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: ``../shared/data/otrf`` beside the checkout, or under ``$HUNTLINE_SHARED_DATA``, as in tests.
DEFAULT_RECORDINGS = (
    Path(os.environ.get("HUNTLINE_SHARED_DATA") or REPO.parent / "shared" / "data") / "otrf"
)


@dataclass
class Cell:
    """One book over one recording."""

    book: str
    recording: str
    alerts: int = 0
    gated: bool = False
    rows: dict[str, int] = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def text(self) -> str:
        if self.error is not None:
            return f"error: {self.error[:80]}"
        if self.gated:
            return f"gated: {self.alerts} would-be alert(s)"
        return f"{self.alerts} alert(s)" if self.alerts else "-"


def books_in(paths: list[Path]) -> list[Path]:
    """The hunt books among ``paths`` (folders are searched; tests and intel files skipped)."""
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        found += [c for c in candidates if not c.name.endswith(".tests.yaml") and c.name not in {
            "intel.yaml", "destinations.yaml", "stixshifter.yaml"}]  # fmt: skip
    return found


def span(bundle: Path) -> tuple[datetime, datetime]:
    """The recording's time span, a second wider on each side."""
    from huntline.fetch.sources.bundle import stream_observed_data

    first = last = None
    for chunk in stream_observed_data(bundle, 5000):
        for obs in chunk:
            first = min(first or obs["first_observed"], obs["first_observed"])
            last = max(last or obs["last_observed"], obs["last_observed"])
    if first is None or last is None:
        raise ValueError(f"{bundle} holds no observed-data")
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return parse(first) - timedelta(seconds=1), parse(last) + timedelta(seconds=1)


def run_cell(
    book: Path, bundle: Path, window: tuple[datetime, datetime], work: Path, python: bool
) -> Cell:
    """Run ``book`` over ``bundle`` in ``window`` with the run's plain step functions."""
    from huntline.booktest.cases import in_process
    from huntline.compile import prepare_hunt
    from huntline.errors import HuntlineError
    from huntline.steps import finish
    from huntline.steps.context import RunContext, StepOutput

    cell = Cell(book=book.name, recording=bundle.name.removesuffix(".json"))
    started = time.perf_counter()
    try:
        hunt = prepare_hunt(book, window[1], *window)
        context = RunContext(
            storage=(work / "store").as_uri(),
            hunt_id=book.stem,
            run_date=window[1].date().isoformat(),
            flow_run_id=cell.recording,
            dry_run=True,
            source=bundle.as_uri(),
        )
        outputs: dict[str, StepOutput] = {}
        for planned in hunt.plan.steps:
            inputs = {var: outputs[step].tables[var] for var, step in planned.inputs.items()}
            step = planned.step
            if python and hasattr(step, "apply"):
                step = step.model_copy(update={"apply": in_process(step.apply)})
            output = planned.action.run(
                context, planned.id, step, inputs, hunt.windows.get(planned.id)
            )
            outputs[planned.id] = output
            for variable, ref in output.tables.items():
                cell.rows[variable] = ref.rows
            if output.gate is not None and output.gate.get("on_fail") == "fail":
                cell.gated = cell.gated or any(not c["passed"] for c in output.gate["checks"])
        book_model = hunt.book
        if book_model.alert is not None:
            last = {var: ref for out in outputs.values() for var, ref in out.tables.items()}
            get_window = next(iter(hunt.windows.values()))
            alerts = finish.alert_step(
                context, book_model, last[book_model.alert.on], window[1], get_window
            )
            cell.alerts = len(alerts.alerts)
            cell.titles = [alert.title for alert in alerts.alerts]
    except HuntlineError as error:
        cell.error = error.message
    except Exception as error:  # a survey reports every failure and goes on
        cell.error = f"{type(error).__name__}: {error}"
    cell.seconds = time.perf_counter() - started
    return cell


def survey(books: list[Path], recordings: list[Path], python: bool = False) -> list[Cell]:
    """Every book over every recording (``*.stix.json.gz``)."""
    cells = []
    with tempfile.TemporaryDirectory(prefix="huntline-recordings-") as tmp:
        work = Path(tmp)
        for recording in recordings:
            bundle = work / recording.name.removesuffix(".stix.json.gz").removesuffix(".gz")
            bundle = bundle.with_suffix(".json")
            with gzip.open(recording, "rb") as packed, bundle.open("wb") as unpacked:
                shutil.copyfileobj(packed, unpacked)
            window = span(bundle)
            for book in books:
                cells.append(run_cell(book, bundle, window, work / "runs", python))
            bundle.unlink()
    return cells


def markdown(cells: list[Cell]) -> str:
    """Books as rows, recordings as columns."""
    books = list(dict.fromkeys(cell.book for cell in cells))
    recordings = list(dict.fromkeys(cell.recording for cell in cells))
    by = {(cell.book, cell.recording): cell for cell in cells}
    lines = [
        "| book | " + " | ".join(recordings) + " |",
        "|---|" + "---|" * len(recordings),
    ]
    for book in books:
        row = [by[(book, recording)].text() for recording in recordings]
        lines.append(f"| {book} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", nargs="*", type=Path, default=[REPO / "hunts"])
    parser.add_argument("--recordings", nargs="*", type=Path, default=[DEFAULT_RECORDINGS])
    parser.add_argument("--python", action="store_true", help="analytics in-process")
    parser.add_argument("--titles", action="store_true", help="list every alert's title")
    args = parser.parse_args(argv)
    recordings = [
        found
        for path in args.recordings
        for found in (sorted(path.glob("*.stix.json.gz")) if path.is_dir() else [path])
    ]
    cells = survey(books_in(args.books), recordings, args.python)
    print(markdown(cells))
    if args.titles:
        for cell in cells:
            for title in cell.titles:
                print(f"- {cell.book} on {cell.recording}: {title[:160]}")
    errors = [cell for cell in cells if cell.error is not None]
    for cell in errors:
        print(f"error: {cell.book} on {cell.recording}: {cell.error}", file=sys.stderr)
    print(f"{len(cells)} runs, {len(errors)} errors, "
          f"{sum(c.seconds for c in cells):.0f} s", file=sys.stderr)  # fmt: skip
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
