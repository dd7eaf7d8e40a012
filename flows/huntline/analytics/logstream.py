"""Container logs streamed line by line as they arrive, into the run's log.

Why: an analytics that runs for ten minutes should show its progress in the Prefect UI while it
runs, not only in ``container.log`` after it ends. The runner follows the container's output
in a thread and hands each complete line to a sink; by default the sink is the one the
orchestrator provides (:func:`huntline.analytics.slots.task_log_sink`: under Prefect, the
task's run logger).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from huntline.analytics.slots import LineSink

log = logging.getLogger(__name__)


#: A line longer than this is handed on in pieces of this size: an analytics that prints
#: without ever ending a line would otherwise grow one line in memory without end.
MAX_LINE = 64 * 2**10


def split_lines(chunks: Iterable[bytes], sink: LineSink) -> None:
    """Feed ``sink`` one decoded line at a time from raw output chunks (the last may lack \\n),
    a line longer than :data:`MAX_LINE` bytes in pieces."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        while len(pending) > MAX_LINE:
            lines.append(pending[:MAX_LINE])
            pending = pending[MAX_LINE:]
        for line in lines:
            sink(line.decode("utf-8", errors="replace").rstrip("\r"))
    if pending:
        sink(pending.decode("utf-8", errors="replace"))


def follow(container: Any, sink: LineSink) -> threading.Thread:
    """Start a daemon thread that streams ``container``'s stdout and stderr into ``sink``.

    The stream ends when the container stops; a failing sink or stream only stops the
    streaming (the full logs are still read at the end), it never fails the run.
    """

    def pump() -> None:
        try:
            split_lines(container.logs(stream=True, follow=True, stdout=True, stderr=True), sink)
        except Exception as error:  # streaming is a convenience: never fail the run for it
            log.debug("log streaming of %s stopped: %s", getattr(container, "id", "?"), error)

    thread = threading.Thread(target=pump, name="huntline-container-logs", daemon=True)
    thread.start()
    return thread
