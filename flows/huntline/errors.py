"""Every error huntline raises on purpose.

One root, :class:`HuntlineError`, and one subclass per stage, so the CLI can tell an expected
failure (exit 1, clean message) from a bug (exit 3, traceback in a log file).

Prefect persists a failed task's exception by pickling it, so every error here must survive a
pickle round trip. Context travels as keyword-only arguments that are kept on the instance and
restored by ``__reduce__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class HuntlineError(Exception):
    """Root of all huntline errors.

    Args:
        message: What went wrong, in words the user understands.
        hint: What the user can do about it, if anything.
        **context: Extra facts (file, step, image, uri, ...) kept for programs and logs.
    """

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context

    def __str__(self) -> str:
        # ``problems`` (a list of ``FILE:LINE field: ...``), which any error may carry, one a line
        lines = [self.message, *(f"  {problem}" for problem in self.context.get("problems", []))]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.hint, self.context))


def _rebuild(
    cls: type[HuntlineError], message: str, hint: str | None, context: dict[str, Any]
) -> HuntlineError:
    return cls(message, hint=hint, **context)


class BookError(HuntlineError, ValueError):
    """A hunt book could not be read or is invalid. ``problems`` lists every problem found."""

    def __init__(
        self,
        message: str,
        *,
        problems: list[str] | None = None,
        hint: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, problems=problems or [], **context)
        self.problems: list[str] = problems or []


class PackError(BookError):
    """A rule pack is invalid: unreadable, an unknown member, or members that disagree with
    the pack (source, entity). ``problems`` lists every problem found."""


class CompileError(HuntlineError, ValueError):
    """The steps of a valid book do not form a runnable plan (e.g. a variable read before set)."""


class WindowError(HuntlineError, ValueError):
    """A time window is empty or reversed (its start is not before its stop)."""


class DataSourceError(HuntlineError):
    """A data source is unknown, misconfigured, unreachable, or answered with an error."""


class FetchError(HuntlineError):
    """Fetched data could not be turned into tables (e.g. a malformed STIX bundle)."""


class PatternError(FetchError, ValueError):
    """A STIX pattern cannot be evaluated locally (it does not parse, or relates several
    observations); the message names the part."""


class AnalyticsError(HuntlineError):
    """An analytics container or function failed, timed out, or wrote output that breaks the
    contract."""


class StorageError(HuntlineError, OSError):
    """Object storage could not be read or written."""


class AlertError(HuntlineError):
    """An alert condition could not be evaluated, or a destination refused an alert."""


class ServerError(HuntlineError):
    """The Prefect server could not be reached or started."""


class QualityError(HuntlineError):
    """A quality gate with ``on_fail: fail`` found data that does not meet its checks."""


class IntelError(HuntlineError):
    """An intel feed is unknown, misconfigured, unreachable, or published something malformed."""


class ReplayError(HuntlineError, ValueError):
    """A replay cannot run: an empty range, or no stored run of the hunt within it."""


class ScheduleError(HuntlineError, ValueError):
    """A schedule, a deployment or a run window cannot be honoured (bad cron, reversed range)."""


class PluginError(HuntlineError, LookupError):
    """A plug-in name is unknown or taken twice, or a plug-in's entry point does not load."""


class SigmaRuleError(HuntlineError, ValueError):
    """A Sigma rule cannot become a hunt: invalid, or using what huntline cannot express.

    ``reason`` is the group ``huntline sigma coverage`` counts it under (``unmapped field``,
    ``unsupported modifier``, ...); ``field`` the Sigma field at fault, where there is one.
    """


@contextmanager
def failing_step(step_id: str) -> Iterator[None]:
    """Name the run step an error escaped from (``context["failed_step"]``), so ``huntline run
    --json`` can say which step failed; a step named already (an inner call's) is kept."""
    try:
        yield
    except HuntlineError as error:
        error.context.setdefault("failed_step", step_id)
        raise
