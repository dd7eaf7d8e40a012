"""What every command group shares: the two consoles, the one way an error is printed, the
ISO 8601 argument type and the options several commands take (``--storage``, ``--json``, the
book paths), so each reads and is explained the same everywhere."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

from huntline.errors import BookError, HuntlineError
from huntline.window import utc

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

# Piped or logged output gets room for whole titles and URIs instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


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
    err.print(text, markup=False)


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


def flow_result(state: State[Any], url: str, what: str) -> Any:
    """The result of a flow run called with ``return_state=True``; a failure is raised, with
    the flow run's URL added to a huntline error's message."""
    if state.is_completed():
        return state.result()
    failure = state.result(raise_on_failure=False)
    if isinstance(failure, HuntlineError):
        failure.message += f"\n  flow run: {url}"
        raise failure
    raise RuntimeError(f"{what} failed ({state.name}): {failure}\n  flow run: {url}")
