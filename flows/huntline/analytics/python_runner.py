"""The ``python://`` runner: an analytics function called in this process, Kestrel's way.

Kestrel's python interface calls ``func(*dataframes)`` from a module (a dotted name or a path
to a ``.py`` file), with the step's parameters as environment variables that are restored
afterwards, and takes back the updated DataFrames and optionally a display. huntline keeps that
contract, so every ``analytics.py`` of ``analytics_images/`` (and Kestrel's own python
analytics) runs without Docker, for iterating on a laptop or on hosts without an engine:

``python://analytics_images/plot/analytics.py:analytics``
    a file and a function;
``python://analytics_images/plot/analytics.py``
    a file, function ``analytics``;
``python://mypkg.scoring:score``
    an importable module and a function;
``python://plot``
    the short form for ``analytics_images/plot/analytics.py:analytics``.

The function returns a DataFrame, a display, or a tuple of DataFrames (one per input, in
order) optionally followed by a display. A display is HTML text, or an object with
``_repr_html_`` (a folium map) or ``savefig`` (a matplotlib figure, rendered as inline SVG).
The results are written as the Docker runner's are (``output/{i}.parquet.gz``,
``display/ret.html``), so the same merge and storage code follows.

Environment variables are process-wide, so calls are serialised by a lock. What the function
prints is captured as the step's log. There is no isolation: run only analytics you trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import io
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from huntline.analytics import contract
from huntline.analytics.docker_runner import ContainerResult, prepare_workdir
from huntline.analytics.labels import check_parameters
from huntline.analytics.logstream import LineSink, split_lines, task_log_sink
from huntline.errors import AnalyticsError

SCHEME = "python://"
DEFAULT_FUNCTION = "analytics"
IMAGES_ROOT = Path("analytics_images")
_CALL_LOCK = threading.Lock()  # os.environ, stdout and stderr are process-wide


def resolve(reference: str, root: Path = IMAGES_ROOT) -> tuple[str, str]:
    """``(module, function)`` for a ``python://`` reference; module is a path or a dotted name.

    >>> resolve("python://analytics_images/plot/analytics.py:analytics")
    ('analytics_images/plot/analytics.py', 'analytics')
    >>> resolve("python://plot")
    ('analytics_images/plot/analytics.py', 'analytics')
    """
    target = reference.removeprefix(SCHEME).strip()
    module, _, function = target.rpartition(":") if ":" in target else (target, "", "")
    function = function or DEFAULT_FUNCTION
    if not module:
        raise AnalyticsError(
            f"empty python analytics reference {reference!r}",
            hint="use python://path/to/analytics.py:function, python://module:function "
            "or python://NAME for analytics_images/NAME",
        )
    if "/" not in module and not module.endswith(".py") and (root / module).is_dir():
        module = str(root / module / "analytics.py")
    return module, function


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


@contextlib.contextmanager
def parameters_as_environment(params: Mapping[str, object]) -> Iterator[None]:
    """Set ``with:`` as environment variables (the contract's strings) and restore them after."""
    env = contract.env_for(params)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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


def run_python(
    reference: str,
    input_files: Sequence[Path],
    params: Mapping[str, object],
    workdir: Path,
    *,
    on_log: LineSink | None = None,
) -> ContainerResult:
    """Call the analytics function of ``reference`` on ``input_files``; lay out its results.

    Raises:
        AnalyticsError: the module or function cannot be loaded, a parameter is not among the
            module's ``PARAMETERS`` (when it declares them), the function raised (its message
            and traceback are in the error and its ``logs``), or it returned something the
            contract does not allow.
    """
    module, function = resolve(reference)
    analytics, loaded = load_function(module, function)
    declared = getattr(loaded, "PARAMETERS", None)
    check_parameters(reference, frozenset(declared) if declared is not None else None, params)
    prepare_workdir(workdir, input_files)
    frames = [
        pd.read_parquet(workdir / contract.INPUT_DIR / contract.data_file(index))
        for index in range(len(input_files))
    ]
    captured = io.StringIO()
    started = time.monotonic()
    with _CALL_LOCK, parameters_as_environment(params), contextlib.redirect_stdout(
        captured
    ), contextlib.redirect_stderr(captured):  # fmt: skip
        try:
            returned = analytics(*frames)
            outputs, display = split_result(returned, len(frames))
        except Exception as error:
            traceback.print_exc(file=captured)
            failure: BaseException | None = error
        else:
            failure = None
    duration = time.monotonic() - started
    logs = captured.getvalue()
    split_lines([logs.encode()], on_log or task_log_sink(reference))
    if failure is not None:
        raise AnalyticsError(
            f"analytics {reference} raised {type(failure).__name__}: {failure}",
            image=reference,
            logs=logs,
            hint="its traceback is in the step's container.log",
        ) from failure
    written = {}
    for index, frame in enumerate(outputs):
        if frame is not None:
            path = workdir / contract.OUTPUT_DIR / contract.data_file(index)
            frame.to_parquet(path, compression="gzip", compression_level=1, index=False)
            written[index] = path
    shown = None
    if display is not None:
        shown = workdir / contract.DISPLAY_DIR / "ret.html"
        shown.write_text(display_html(display), encoding="utf-8")
    return ContainerResult(written, shown, logs, reference, _version(module, loaded), duration)


def _version(module: str, loaded: ModuleType) -> str:
    """What identifies the code that ran, for the manifest: the file's sha256, or __version__."""
    path = Path(module)
    if path.is_file():
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return f"python:{getattr(loaded, '__version__', 'unversioned')}"


def is_python(reference: str) -> bool:
    """Whether an ``apply`` reference is for this runner."""
    return reference.startswith(SCHEME)
