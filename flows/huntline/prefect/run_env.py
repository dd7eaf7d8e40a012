"""A flow run's job variables, applied inside a long-lived process of ``huntline worker``.

Prefect's process worker starts each run as a new process whose environment is the worker's
plus the run's ``env`` job variable (the deployment's, with the flow run's own on top; a
``None`` value unsets a variable), in the directory ``working_dir``. ``huntline worker`` runs
many flow runs one after another in the same process, so it does the same in-process: it sets
the variables for the run and puts every one back as it was when the run ends, so nothing one
run was given reaches the next (:func:`applied`).

What cannot be done in-process is refused with the run marked Failed, naming the variable,
rather than silently ignored (:func:`refusal`):

- ``command``: a run here is not a command, it is Prefect's engine called in the process;
- ``env`` entries named ``PREFECT_*``: Prefect reads its settings once, when the process starts,
  so a per-run value would not take effect (the API URL, logging level and so on).

``name``, ``labels`` and ``stream_output`` describe the process Prefect would start and mean
nothing here; they are accepted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: What to run on a process worker pool instead, said in every refusal.
HINT = (
    "run this deployment on a pool served by Prefect's process worker "
    "(huntline server start --worker process), which starts a process per run"
)


def job_variables(client: Any, flow_run: Any) -> dict[str, Any]:
    """The run's job variables as Prefect's workers merge them: the deployment's, then the
    flow run's on top (``env`` merged key by key)."""
    deployment_vars: dict[str, Any] = {}
    if flow_run.deployment_id is not None:
        deployment_vars = dict(client.read_deployment(flow_run.deployment_id).job_variables or {})
    run_vars = dict(flow_run.job_variables or {})
    merged = {**deployment_vars}
    if isinstance(merged.get("env"), dict):
        merged["env"] = {**merged["env"], **(run_vars.pop("env", None) or {})}
    merged.update(run_vars)
    return merged


def refusal(variables: dict[str, Any]) -> str | None:
    """Why these job variables cannot be applied in a long-lived process, or None."""
    if variables.get("command"):
        return f"the job variable 'command' cannot be applied by huntline worker: {HINT}"
    env = variables.get("env") or {}
    if not isinstance(env, dict):
        return f"the job variable 'env' must be a mapping of names to values, not {env!r}"
    settings = sorted(name for name in env if name.upper().startswith("PREFECT_"))
    if settings:
        return (
            f"the job variable 'env' sets {', '.join(settings)}: Prefect settings cannot change "
            f"per run inside huntline worker's long-lived processes; {HINT}"
        )
    return None


def run_environment(variables: dict[str, Any]) -> tuple[dict[str, str | None], str | None]:
    """What the child applies: the ``env`` entries (None unsets) and ``working_dir``."""
    env = {
        str(name): None if value is None else str(value)
        for name, value in (variables.get("env") or {}).items()
    }
    working_dir = variables.get("working_dir")
    return env, str(working_dir) if working_dir else None


@contextmanager
def applied(env: dict[str, str | None]) -> Iterator[None]:
    """``env`` set in ``os.environ`` (None: removed) for the block; every name put back after,
    whatever the run did to it."""
    before = {name: os.environ.get(name) for name in env}
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
