"""The child side of the ``python://`` runner: load one analytics function, call it Kestrel's
way on the work directory's inputs, and lay out what it returned.

Run as ``python -m huntline.analytics.python_call WORKDIR MODULE FUNCTION INPUTS REFERENCE
NAMES`` by :mod:`.python_runner`, with the step's parameters already in the environment and
their names as a JSON list (to check them against the module's ``PARAMETERS``). It writes
``output/{i}.parquet.gz`` and ``display/ret.html`` as a container does, and one of two small
JSON files for the parent: ``call.json`` (what ran, for the manifest) or ``failure.json``
(a message and a hint, so the parent raises the same clear error it would raise in-process).
What the function prints, and a traceback, go to this process's stdout and stderr, which the
parent streams into the step's log.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from huntline.analytics import contract
from huntline.analytics.labels import check_parameters
from huntline.errors import AnalyticsError, HuntlineError

CALL_FILE = "call.json"
FAILURE_FILE = "failure.json"


def load_function(module: str, function: str) -> tuple[Callable[..., Any], ModuleType]:
    """Import ``module`` (a .py path, under a name unique to that path, or a dotted name)."""
    try:
        if module.endswith(".py") or "/" in module:
            path = Path(module).expanduser().resolve()
            if not path.is_file():
                raise FileNotFoundError(f"no such file {path}")
            name = "huntline_python_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec and spec.loader
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
        else:
            loaded = importlib.import_module(module)
    except Exception as error:
        raise AnalyticsError(
            f"cannot load python analytics module {module}: {type(error).__name__}: {error}",
            module=module,
        ) from error
    found = getattr(loaded, function, None)
    if not callable(found):
        raise AnalyticsError(
            f"python analytics module {module} has no function {function}",
            module=module,
            hint=f"name the function: python://{module}:FUNCTION",
        )
    return found, loaded


def split_result(result: Any, n_inputs: int) -> tuple[list[pd.DataFrame | None], Any]:
    """The returned frames (None where the function returned none) and the display."""
    items = list(result) if isinstance(result, tuple) else [result]
    frames = [item for item in items if isinstance(item, pd.DataFrame)]
    displays = [item for item in items if not isinstance(item, pd.DataFrame) and item is not None]
    if len(frames) > n_inputs or len(displays) > 1:
        raise ValueError(
            f"returned {len(frames)} DataFrame(s) and {len(displays)} display(s) for "
            f"{n_inputs} input(s); the contract allows one frame per input and one display"
        )
    return [*frames, *[None] * (n_inputs - len(frames))], (displays[0] if displays else None)


def display_html(display: Any) -> str:
    """HTML for a display: text as is, ``_repr_html_`` objects, matplotlib figures as SVG."""
    if isinstance(display, str):
        return display
    if hasattr(display, "_repr_html_"):
        return str(display._repr_html_())
    if hasattr(display, "savefig"):
        buffer = io.StringIO()
        display.savefig(buffer, format="svg")
        return buffer.getvalue()
    raise ValueError(f"cannot show a {type(display).__name__} as a display")


def version_of(module: str, loaded: ModuleType) -> str:
    """What identifies the code that ran, for the manifest: the file's sha256, or __version__."""
    path = Path(module)
    if path.is_file():
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return f"python:{getattr(loaded, '__version__', 'unversioned')}"


def call(
    workdir: Path, module: str, function: str, n_inputs: int, reference: str, names: list[str]
) -> None:
    """Load, check the parameters, call, and write the outputs, the display and ``call.json``."""
    analytics, loaded = load_function(module, function)
    declared = getattr(loaded, "PARAMETERS", None)
    given = dict.fromkeys(names)
    check_parameters(reference, frozenset(declared) if declared is not None else None, given)
    frames = [
        pd.read_parquet(workdir / contract.INPUT_DIR / contract.data_file(index))
        for index in range(n_inputs)
    ]
    try:
        outputs, display = split_result(analytics(*frames), n_inputs)
    except Exception as error:
        traceback.print_exc()
        raise AnalyticsError(
            f"analytics {reference} raised {type(error).__name__}: {error}",
            hint="its traceback is in the step's container.log",
        ) from error
    for index, frame in enumerate(outputs):
        if frame is not None:
            path = workdir / contract.OUTPUT_DIR / contract.data_file(index)
            frame.to_parquet(path, compression="gzip", compression_level=1, index=False)
    if display is not None:
        (workdir / contract.DISPLAY_DIR / "ret.html").write_text(
            display_html(display), encoding="utf-8"
        )
    record = {"version": version_of(module, loaded)}
    (workdir / CALL_FILE).write_text(json.dumps(record))


def main(argv: list[str]) -> int:
    workdir, module, function, n_inputs, reference, names = argv
    try:
        call(Path(workdir), module, function, int(n_inputs), reference, json.loads(names))
    except HuntlineError as error:
        failure = {"message": error.message, "hint": error.hint}
        (Path(workdir) / FAILURE_FILE).write_text(json.dumps(failure))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
