"""The ``python://`` runner: an analytics function called Kestrel's way, without Docker.

Kestrel's python interface calls ``func(*dataframes)`` from a module (a dotted name or a path to
a ``.py`` file), with the step's parameters as environment variables, and takes back the updated
DataFrames and optionally a display. huntline keeps that contract, so every ``analytics.py`` of
``analytics_images/`` (and Kestrel's own python analytics) runs without Docker, for iterating on
a laptop or on hosts without an engine:

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

Each call runs in a child Python process (:mod:`.python_call`), not in the flow's: an
analytics that hangs is killed at the step's ``timeout`` like a container, one that crashes
the interpreter (a segfault in a C extension, ``os._exit``) fails only its step, and the
step's parameters become that child's environment, so concurrent steps cannot see each
other's and the flow's environment never changes. What it prints streams into the step's log
line by line. The child costs about a second of imports per call, small beside a container's
start. Memory, CPU and network are not limited and the code can read what the flow's user can:
run only analytics you trust, and use ``docker://`` for isolation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from huntline.analytics import contract
from huntline.analytics.docker_runner import ContainerLimits, ContainerResult, prepare_workdir
from huntline.analytics.harvest import harvest, read_regular
from huntline.analytics.logstream import split_lines
from huntline.analytics.python_call import CALL_FILE, FAILURE_FILE
from huntline.analytics.slots import LineSink, task_log_sink
from huntline.errors import AnalyticsError

SCHEME = "python://"
DEFAULT_FUNCTION = "analytics"
IMAGES_ROOT = Path("analytics_images")


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


def run_python(
    reference: str,
    input_files: Sequence[Path],
    params: Mapping[str, object],
    workdir: Path,
    limits: ContainerLimits | None = None,
    *,
    on_log: LineSink | None = None,
) -> ContainerResult:
    """Call the analytics function of ``reference`` on ``input_files`` in a child process.
    Of ``limits`` only the timeout applies: the child has no memory, CPU, network or user limit.

    Raises:
        AnalyticsError: the module or function cannot be loaded, a parameter is not among the
            module's ``PARAMETERS`` (when it declares them), the function raised (its message
            and traceback are in the error and its ``logs``), it returned something the
            contract does not allow, it ran longer than the timeout (it is killed), or
            the child process died.
    """
    module, function = resolve(reference)
    timeout = (limits or ContainerLimits()).timeout
    environment = {**os.environ, **contract.env_for(params)}
    prepare_workdir(workdir, input_files)
    for leftover in (CALL_FILE, FAILURE_FILE):
        (workdir / leftover).unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "huntline.analytics.python_call",
        str(workdir),
        module,
        function,
        str(len(input_files)),
        reference,
        json.dumps(sorted(params)),
    ]
    logs: list[str] = []
    sink = on_log or task_log_sink(reference)

    def keep(line: str) -> None:
        logs.append(line)
        sink(line)

    started = time.monotonic()
    with subprocess.Popen(  # the with closes the pipe, once per call
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a timeout kills what it started too
    ) as child:
        assert child.stdout is not None
        output = child.stdout
        streaming = threading.Thread(
            target=split_lines,
            args=(iter(lambda: os.read(output.fileno(), 65536), b""), keep),
            daemon=True,
        )
        streaming.start()
        try:
            status = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            streaming.join(timeout=5)
            raise AnalyticsError(
                f"analytics {reference} timed out after {timeout:g} s and was killed",
                image=reference,
                timeout=timeout,
                logs="\n".join(logs),
                hint="raise the step's timeout if the data is large, or fix the analytics",
            ) from None
        streaming.join(timeout=5)
    duration = time.monotonic() - started
    text = "\n".join(logs)
    failure = read_regular(workdir, FAILURE_FILE, image=reference)
    if failure is not None:
        reason = json.loads(failure)
        raise AnalyticsError(reason["message"], image=reference, logs=text, hint=reason["hint"])
    called = read_regular(workdir, CALL_FILE, image=reference)
    if status != 0 or called is None:
        raise AnalyticsError(
            f"analytics {reference} died: its python process ended with "
            f"{_exit_status(status)} before it finished",
            image=reference,
            logs=text,
            hint="its last output is in the step's container.log",
        )
    # The same taking-out as a container's: the function's code may have left links there.
    outputs, display, notes = harvest(workdir, len(input_files), reference, logs=text)
    version = json.loads(called)["version"]
    return ContainerResult(outputs, display, text, reference, version, duration, notes)


def _exit_status(status: int) -> str:
    """``exit code 3`` or ``signal SIGSEGV``."""
    if status < 0:
        return f"signal {signal.Signals(-status).name}"
    return f"exit code {status}"
