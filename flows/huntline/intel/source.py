"""Read a file or URL feed's bytes, with errors that name the feed and where it points."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from huntline.errors import IntelError
from huntline.intel.model import FeedConfig


def read_source(name: str, config: FeedConfig) -> bytes:
    """The raw bytes of a file or URL feed; errors name the feed and where it points."""
    if config.path is not None:
        try:
            return Path(config.path).read_bytes()
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
            return bytes(response.read())
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
