"""Why a ``get`` came back empty: the window it used, and the time a STIX bundle covers.

The commonest cause of 0 rows over historical data is a window that misses the data: a book
without a ``window:`` searches the last 24 hours, and a recorded bundle lies years back. The
sources answer without error, so nothing else would tell the hunter. For ``file://`` and
``http(s)://`` bundles the warning therefore says which time range the bundle covers (the
earliest ``first_observed`` to the latest ``last_observed``). This runs only after a step
returned 0 rows, so re-reading the bundle (or downloading it once more) costs nothing in a run
that found data. Finding the range is best effort: a bundle that cannot be read again gives the
warning without it, never a second error.
"""

from __future__ import annotations

import tempfile
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from huntline.errors import HuntlineError
from huntline.fetch.sources.bundle import stream_observed_data
from huntline.fetch.sources.stixshifter import redact_url
from huntline.scratch import process_dir
from huntline.window import Window

DOWNLOAD_TIMEOUT = 60.0
#: The most bytes of an HTTP bundle copied to find its span (the warning goes without it).
MAX_DOWNLOAD = 2**30


def moment(value: datetime) -> str:
    """A UTC instant as the warnings print it: ``2019-11-16T12:55:03Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def bundle_span(source: str) -> tuple[datetime, datetime] | None:
    """The (earliest first_observed, latest last_observed) of the bundle ``source`` names.

    None for a source that is not a ``file://`` or ``http(s)://`` bundle, a bundle without
    observed-data, or one that cannot be read.
    """
    lowered = source.lower()
    try:
        if lowered.startswith("file://"):
            return _span_of(Path(source[len("file://") :]))
        if lowered.startswith(("http://", "https://")):
            with tempfile.NamedTemporaryFile(
                prefix="span-", suffix=".json", dir=process_dir()
            ) as copy:
                with urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT) as answer:
                    while block := answer.read(1 << 20):
                        copy.write(block)
                        if copy.tell() > MAX_DOWNLOAD:
                            return None  # an endless or huge answer: no span, not the disk
                copy.flush()
                return _span_of(Path(copy.name))
    except (HuntlineError, OSError, ValueError):
        return None
    return None


def _span_of(path: Path) -> tuple[datetime, datetime] | None:
    first: datetime | None = None
    last: datetime | None = None
    for chunk in stream_observed_data(path, 10_000):
        for observation in chunk:
            start = datetime.fromisoformat(observation["first_observed"])
            stop = datetime.fromisoformat(observation["last_observed"])
            first = start if first is None or start < first else first
            last = stop if last is None or stop > last else last
    return (first, last) if first is not None and last is not None else None


def empty_fetch_warning(
    step_id: str, variable: str, entity: str, sources: Sequence[str], window: Window
) -> str:
    """The warning for a ``get`` that returned 0 rows: the window, and each bundle's span."""
    shown = ", ".join(redact_url(source) for source in sources)
    text = (
        f"{step_id}: {variable} is empty: no {entity} from {shown} in the window "
        f"{moment(window.start)} – {moment(window.stop)}"
    )
    for source in sources:
        span = bundle_span(source)
        if span is None:
            continue
        start, stop = span
        covered = f"the bundle {redact_url(source)} spans {moment(start)} – {moment(stop)}"
        if stop < window.start or start >= window.stop:
            text += f"; {covered}, outside the window: pass --start/--stop to cover it"
        else:
            text += f"; {covered}, which overlaps the window, so the pattern matched nothing there"
    return text
