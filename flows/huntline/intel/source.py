"""Read a file or URL feed's bytes, with errors that name the feed and where it points.

A feed is untrusted input: at most :data:`MAX_FEED_BYTES` are read from it (a server that
never stops sending, or a path such as ``/dev/zero``, fails the pull instead of exhausting
memory), and no byte past the limit is read.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from huntline.errors import IntelError
from huntline.intel.model import FeedConfig

#: The most bytes read from one feed (indicator feeds are megabytes; this is generous).
MAX_FEED_BYTES = 256 * 2**20


def read_source(name: str, config: FeedConfig) -> bytes:
    """The raw bytes of a file or URL feed; errors name the feed and where it points."""
    if config.path is not None:
        try:
            with Path(config.path).open("rb") as handle:
                return _bounded(name, config.path, handle)
        except OSError as error:
            raise IntelError(
                f"intel feed {name!r}: cannot read {config.path}: {error.strerror}",
                feed=name,
            ) from error
    assert config.url is not None
    if not config.url.startswith(("http://", "https://")):
        raise IntelError(
            f"intel feed {name!r}: url {config.url!r} is not http(s)",
            hint="use path: for a local file",
            feed=name,
        )
    try:
        with urllib.request.urlopen(config.url, timeout=config.timeout) as response:
            return _bounded(name, config.url, response)
    except urllib.error.HTTPError as error:
        raise IntelError(
            f"intel feed {name!r}: {config.url} answered HTTP {error.code} {error.reason}",
            feed=name,
        ) from error
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise IntelError(
            f"intel feed {name!r}: cannot reach {config.url}: {reason}", feed=name
        ) from error


def _bounded(name: str, where: str, handle: BinaryIO) -> bytes:
    data = handle.read(MAX_FEED_BYTES + 1)
    if len(data) > MAX_FEED_BYTES:
        raise IntelError(
            f"intel feed {name!r}: {where} holds more than {MAX_FEED_BYTES / 2**20:,.0f} MiB",
            hint="split the feed, or point at a smaller export of it",
            feed=name,
        )
    return bytes(data)
