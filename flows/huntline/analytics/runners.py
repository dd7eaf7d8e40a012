"""The analytics runners: an :class:`AnalyticsRunner` Protocol and its registry keyed by scheme.

An ``apply:`` reference names its runner by scheme: ``python://plot`` runs in a child process,
``docker://NAME``, a bare ``NAME`` or a full image reference (no ``://``) run in Docker. The
book validates the scheme against :data:`RUNNERS` when it loads, so a typo (``pyhton://``) is a
located error listing the runners that exist, not a run-time failure after the fetch.

A new runner is one module with a class satisfying :class:`AnalyticsRunner` (or, for a
function with the arguments of :meth:`AnalyticsRunner.run`, a :class:`BuiltInRunner`) plus one
registration: ``RUNNERS.add(...)`` here, or, from another package, an entry point in the group
``huntline.runners`` naming an instance (:mod:`huntline.registry`). Every runner passes the
same contract test
(``tests/integration/test_runner_contract.py``). The runners here import their machinery (the
Docker SDK, pandas) only when they run, so loading a book stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from huntline.analytics.contract import image_for
from huntline.errors import AnalyticsError
from huntline.registry import Registry
from huntline.schemes import SEPARATOR
from huntline.schemes import scheme_of as _scheme_of

if TYPE_CHECKING:
    from huntline.analytics.docker_runner import ContainerLimits, ContainerResult

DEFAULT_SCHEME = "docker"


class AnalyticsRunner(Protocol):
    """Runs one analytics under the Kestrel contract and lays out its results the same way
    (``output/{i}.parquet.gz``, ``display/*.html`` under ``workdir``).

    Attributes:
        scheme: The scheme of the references it runs (``docker`` for ``docker://NAME``).
    """

    @property
    def scheme(self) -> str: ...  # read-only: a plain attribute satisfies it too

    def target(self, reference: str) -> str:
        """What runs for ``reference``, as recorded in the manifest (an image, a module)."""
        ...

    def explain(self, reference: str) -> str:
        """The start of ``huntline compile``'s line, e.g. ``image kestrel-analytics-NAME``."""
        ...

    def run(
        self,
        reference: str,
        input_files: Sequence[Path],
        params: Mapping[str, object],
        workdir: Path,
        limits: ContainerLimits,
    ) -> ContainerResult:
        """Run the analytics on ``input_files`` (the i-th ``on`` variable each).

        Args:
            reference: The step's ``apply:`` value.
            input_files: Parquet files, one per variable, in ``on`` order.
            params: The step's ``with:`` mapping (environment variables to the analytics).
            workdir: A fresh directory private to this run, for inputs, outputs and display.
            limits: Timeout, network and resources; a runner applies what it can enforce.

        Raises:
            AnalyticsError: it could not run, failed, or broke the output contract.
        """
        ...


@dataclass(frozen=True)
class BuiltInRunner:
    """A runner of this package. ``run`` imports ``module`` and calls its ``function`` with the
    Protocol's arguments only when a step runs, so loading a book imports none of the
    machinery (the Docker SDK, pandas); ``targets`` turns a reference into what runs."""

    scheme: str
    module: str
    function: str
    targets: Callable[[str], str] = str

    def target(self, reference: str) -> str:
        return self.targets(reference)

    def explain(self, reference: str) -> str:
        return f"image {self.target(reference)}"

    def run(
        self,
        reference: str,
        input_files: Sequence[Path],
        params: Mapping[str, object],
        workdir: Path,
        limits: ContainerLimits,
    ) -> ContainerResult:
        run: Callable[..., ContainerResult] = getattr(import_module(self.module), self.function)
        return run(reference, input_files, params, workdir, limits)


#: ``docker://NAME``, ``NAME`` or a full image: a locked-down container (docker_runner).
DOCKER = BuiltInRunner("docker", "huntline.analytics.docker_runner", "run_container", image_for)
#: ``python://module:function``: Kestrel's python interface in a child process
#: (python_runner). The timeout applies; memory, CPU, network and user limits do not.
PYTHON = BuiltInRunner("python", "huntline.analytics.python_runner", "run_python")


def _is_runner(item: object) -> bool:
    return isinstance(getattr(item, "scheme", None), str) and callable(getattr(item, "run", None))


RUNNERS: Registry[AnalyticsRunner] = Registry(
    "analytics runner",
    "huntline.runners",
    accepts=_is_runner,
    display=lambda scheme: f"{scheme}{SEPARATOR}",
)
"""Every analytics runner, by scheme."""
for _runner in (DOCKER, PYTHON):
    RUNNERS.add(_runner.scheme, _runner)


def scheme_of(reference: str) -> str:
    """The scheme of an ``apply`` reference; no ``://`` means an image, so ``docker``."""
    return _scheme_of(reference, DEFAULT_SCHEME)


def scheme_problem(reference: str) -> str | None:
    """Why no runner takes ``reference`` (its scheme is not registered), or None."""
    scheme = scheme_of(reference)
    return None if scheme in RUNNERS else RUNNERS.unknown(scheme)


def runner_for(reference: str) -> AnalyticsRunner:
    """The runner of an ``apply`` reference.

    Raises:
        AnalyticsError: no runner is registered for its scheme (the message lists them).
    """
    problem = scheme_problem(reference)
    if problem:
        raise AnalyticsError(problem, image=reference)
    return RUNNERS[scheme_of(reference)]
