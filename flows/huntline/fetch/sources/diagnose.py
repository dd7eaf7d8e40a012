"""What ``huntline datasources list`` and ``huntline datasources check NAME`` report.

``list`` reads profiles only and contacts nothing. ``check`` walks the path a fetch takes, one
step at a time, and stops at the first that fails, so the report says *which* thing is wrong:

1. ``profile``: the name resolves to a profile (or a file:// / http(s):// source);
2. ``connector``: its stix-shifter module is installed and imports;
3. ``secrets``: its Prefect Secret blocks load (only when it has any);
4. ``ping``: the connector reaches the source and the credentials are accepted;
5. ``query``: a tiny query (limit 1, over the last day by default) runs and translates.

Nothing is retried, so a check answers within about ``timeout`` seconds per step. Each failed
step carries the diagnosis (:class:`~huntline.fetch.sources.retry.Problem` values, plus
``unknown profile``, ``wrong connector name``, ``module not installed``, ``module broken``)
and the hint of the error. No step's text ever contains a credential.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from huntline.errors import HuntlineError
from huntline.fetch.base import DataSource, Window
from huntline.fetch.sources.connectors import connector_error, connector_state
from huntline.fetch.sources.profiles import find_profile, known_profiles
from huntline.fetch.sources.resolve import kind_of, resolve_source
from huntline.fetch.sources.retry import NO_RETRY
from huntline.fetch.sources.secrets import SecretLoader, secret_names
from huntline.fetch.sources.stixshifter import Session, StixShifterSource

#: Matches nothing on most sources, but every connector can translate and run it.
CHECK_PATTERN = "[ipv4-addr:value = '127.0.0.1']"
CHECK_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class SourceInfo:
    """One profile as ``datasources list`` shows it.

    Attributes:
        name: Profile name.
        connector: The stix-shifter connector module ("" if the profile cannot be read).
        origin: Where it is defined: ``environment STIXSHIFTER_NAME_*`` or the file path.
        where: Connector and address, without credentials.
        installed: Whether the connector module is installed and imports.
        problem: Why the profile cannot be used as it is, else None.
    """

    name: str
    connector: str
    origin: str
    where: str
    installed: bool
    problem: str | None = None


@dataclass(frozen=True)
class CheckStep:
    """The outcome of one check step; ``problem`` and ``hint`` are set when it failed."""

    name: str
    ok: bool
    detail: str
    seconds: float
    problem: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class CheckReport:
    """Every step ``check_source`` ran, in order; it stops at the first failure."""

    name: str
    where: str
    steps: list[CheckStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def diagnosis(self) -> str:
        """``"ok"``, or the failed step's problem, e.g. ``"bad credentials"``."""
        failed = next((step for step in self.steps if not step.ok), None)
        return "ok" if failed is None else failed.problem or "error"

    def lines(self) -> list[str]:
        """The report as text lines, one per step, then the diagnosis and hint."""
        lines = [f"{self.name}: {self.where}" if self.where else self.name]
        for step in self.steps:
            mark = "ok  " if step.ok else "FAIL"
            lines.append(f"  {mark} {step.name:<10} {step.detail} ({step.seconds:.2f} s)")
        failed = next((step for step in self.steps if not step.ok), None)
        lines.append(f"  diagnosis: {self.diagnosis}")
        if failed is not None and failed.hint:
            lines.append(f"  hint: {failed.hint}")
        return lines


def list_sources(
    *, profiles_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> list[SourceInfo]:
    """Every stix-shifter profile in the environment and the profiles file, sorted by name."""
    infos = []
    for name in known_profiles(profiles_file=profiles_file, environ=environ):
        try:
            profile = find_profile(name, profiles_file=profiles_file, environ=environ)
        except HuntlineError as error:
            infos.append(SourceInfo(name, "", "", "", installed=False, problem=error.message))
            continue
        state = connector_state(profile.connector)
        problem = connector_error(profile.connector, source=name)
        infos.append(
            SourceInfo(
                name=name,
                connector=profile.connector,
                origin=profile.origin,
                where=StixShifterSource(profile).describe(),
                installed=state.importable,
                problem=problem.message if problem else None,
            )
        )
    return infos


async def check_source(
    name: str,
    *,
    profiles_file: Path | None = None,
    window: Window | None = None,
    pattern: str = CHECK_PATTERN,
    timeout: float = 30.0,
    secret_loader: SecretLoader | None = None,
) -> CheckReport:
    """Check that data source ``name`` (profile, file:// or http(s)://) can be fetched from.

    Never raises for a problem with the source: that is what the report is for.
    """
    with _stix_shifter_log_quiet():
        return await _checked(name, profiles_file, window, pattern, timeout, secret_loader)


@contextmanager
def _stix_shifter_log_quiet() -> Iterator[None]:
    """stix-shifter logs each connector error it returns; the report gives every one, with its
    diagnosis, so the log line would only say it twice (and ahead of the report)."""
    logger = logging.getLogger("stix_shifter_utils")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _checked(
    name: str,
    profiles_file: Path | None,
    window: Window | None,
    pattern: str,
    timeout: float,
    secret_loader: SecretLoader | None,
) -> CheckReport:
    steps: list[CheckStep] = []
    source = await _step(steps, "profile", lambda: _resolve(name, profiles_file))
    if source is None:
        return CheckReport(name, "", steps)
    report = CheckReport(name, source.describe(), steps)
    window = window or Window.last(CHECK_WINDOW)
    preflight = PREFLIGHT.get(kind_of(name).name)
    if preflight is not None and not await preflight(steps, source, secret_loader, timeout):
        return report
    await _step(steps, "query", lambda: _tiny_query(source, pattern, window))
    return report


async def _stix_shifter_steps(
    steps: list[CheckStep], resolved: DataSource, loader: SecretLoader | None, timeout: float
) -> bool:
    """The connector, secrets and ping steps; False as soon as one fails."""
    source = cast(StixShifterSource, resolved)  # PREFLIGHT is keyed by the source's kind
    source.secret_loader = loader or source.secret_loader
    source.call_timeout, source.timeout, source.retry = timeout, timeout, NO_RETRY

    async def connector() -> str:
        error = connector_error(source.profile.connector, source=source.name)
        if error is not None:
            raise error
        return f"{source.profile.connector} module installed"

    if await _step(steps, "connector", connector) is None:
        return False
    blocks = secret_names(source.profile.connection) + secret_names(source.profile.config)
    session: Session | None = None

    async def secrets() -> str:
        nonlocal session
        session = await source.open()
        return f"{len(set(blocks))} Prefect Secret block(s) loaded" if blocks else "none needed"

    if await _step(steps, "secrets", secrets) is None or session is None:
        return False

    async def ping() -> str:
        if session is not None:
            await session.ping()
        return "reachable, credentials accepted"

    return await _step(steps, "ping", ping) is not None


#: The checks a kind of source gets before its test query, by :attr:`.SourceKind.name`:
#: ``(steps so far, source, secret loader, timeout) -> whether to go on``.
PREFLIGHT: dict[
    str, Callable[[list[CheckStep], DataSource, SecretLoader | None, float], Awaitable[bool]]
] = {"stix-shifter": _stix_shifter_steps}


async def _resolve(name: str, profiles_file: Path | None) -> DataSource:
    return resolve_source(name, profiles_file=profiles_file)


async def _tiny_query(source: DataSource, pattern: str, window: Window) -> str:
    count = 0
    async for page in source.pages(pattern, window, limit=1, page_size=1):
        count += len(page)
    span = f"{window.start:%Y-%m-%d %H:%M} .. {window.stop:%Y-%m-%d %H:%M} UTC"
    return f"limit 1 over {span}: {count} result(s)"


async def _step(steps: list[CheckStep], name: str, run: Callable[[], Awaitable[Any]]) -> Any:
    """Run one step, record its outcome, and return its result (None if it failed)."""
    started = time.monotonic()
    try:
        result = await run()
    except HuntlineError as error:
        problem = error.context.get("problem") or _problem_for(name, error)
        steps.append(
            CheckStep(name, False, error.message, time.monotonic() - started, problem, error.hint)
        )
        return None
    detail = result if isinstance(result, str) else "ok"
    steps.append(CheckStep(name, True, detail, time.monotonic() - started))
    return result


def _problem_for(step: str, error: HuntlineError) -> str:
    if step == "profile":
        unknown = error.message.startswith("unknown data source")
        return "unknown profile" if unknown else "invalid profile"
    return "secret not loaded" if step == "secrets" else "error"
