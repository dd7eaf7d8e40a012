"""What every command group shares: the two consoles, the one way an error is printed, the
ISO 8601 argument type and the options several commands take (``--storage``, ``--json``, the
book paths), so each reads and is explained the same everywhere."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from huntline.errors import BookError, HuntlineError
from huntline.window import utc

if TYPE_CHECKING:
    from rich.table import Table

# Piped or logged output gets room for whole titles and URIs instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160


class _Console:
    """A rich ``Console`` made on first use: ``huntline --help`` and a parser built for a test
    print nothing through rich, so they need not import it (``tests/unit/test_startup.py``)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    @property
    def real(self) -> Any:
        """The rich ``Console`` itself, for rich objects that take one (``Progress``, ``Live``):
        they use it as a context manager, which attribute forwarding cannot provide."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                stderr=self._stderr, highlight=False, soft_wrap=True, width=_WIDTH
            )
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


out: Any = _Console(stderr=False)
err: Any = _Console(stderr=True)


def escape(text: str) -> str:
    """``text`` with rich markup escaped, so brackets in titles and paths print as written."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def new_table(*columns: str, **options: Any) -> Table:
    """A rich ``Table`` (rich is imported when a command prints one)."""
    from rich.table import Table

    return Table(*columns, **options)


def print_error(error: HuntlineError, *, lead: str = "[red]error:[/]", where: str = "") -> None:
    """Print an expected failure to stderr: every command shows errors the same way.

    Args:
        error: The failure; a book error's message already names its file, with its problems.
        lead: The rich markup before the message (``error:`` or ``validate``'s ``✗``).
        where: What the message is about, put before the message of errors that don't say it
            (a book error, or an error that carries its ``file``, names its file already).
    """
    err.print(lead, end=" ")
    text = str(error)
    if where and not isinstance(error, BookError) and "file" not in error.context:
        text = f"{where}: {text}"
    if error.context.get("flow_run_url"):
        text += f"\n  flow run: {error.context['flow_run_url']}"
    err.print(text, markup=False)


def error_record(error: BaseException, *, log: str | None = None) -> dict[str, Any]:
    """A failure as ``--json`` prints it on stdout, so a script reading stdout learns what
    failed (the exit code stays 1, or 3 for a bug).

    Args:
        error: The failure; a :class:`HuntlineError` gives its kind, message, hint, the run
            step it escaped from and its flow run, anything else is an ``unexpected`` error.
        log: Where the traceback of an unexpected error was written.
    """
    if not isinstance(error, HuntlineError):
        return {
            "error": {
                "kind": "unexpected",
                "message": f"{type(error).__name__}: {error}",
                "hint": f"this is a bug in huntline: the traceback is in {log}" if log else None,
                "step": None,
                "flow_run_url": None,
            }
        }
    record: dict[str, Any] = {
        "kind": type(error).__name__,
        "message": error.message,
        "hint": error.hint,
        "step": error.context.get("failed_step"),
        "flow_run_url": error.context.get("flow_run_url"),
    }
    if isinstance(error, BookError):
        record["problems"] = error.problems
    return {"error": record}


class _QuietExpectedErrors(logging.Filter):
    """Drop the traceback from Prefect's log of an expected failure: the message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], HuntlineError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_errors() -> None:
    """Keep Prefect from printing a traceback for a huntline error (an unreachable feed or
    data source) before the CLI prints its clean message; call it once Prefect is imported,
    before a flow runs in this process. Unexpected errors keep their tracebacks."""
    quiet = _QuietExpectedErrors()
    for name in ["prefect", *logging.root.manager.loggerDict]:
        if name.startswith("prefect"):
            for handler in logging.getLogger(name).handlers:
                handler.addFilter(quiet)


def timestamp(text: str) -> datetime:
    """An ``argparse`` type: an ISO 8601 time, UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from error
    return utc(moment)


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    """``--storage``: the object storage root a command reads or writes."""
    parser.add_argument(
        "--storage",
        help="file://DIR or s3://BUCKET/PREFIX (default: HUNTLINE_STORAGE "
        "or file://.huntline/store)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: machine-readable output on stdout instead of tables."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_book_paths(parser: argparse.ArgumentParser, what: str) -> None:
    """Positional ``PATH...``: books (or ``what`` else) and folders, ``hunts`` by default."""
    parser.add_argument(
        "paths",
        nargs="*",
        default=["hunts"],
        metavar="PATH",
        help=f"{what} or folders (default: hunts)",
    )
