"""A bound on how deeply a STIX bundle nests, checked as the bytes are read.

Why: ijson builds the dotted prefix of every event (``objects.item.objects.0.x.a.a...``), so
its cost grows with the square of the nesting: a value nested 100,000 deep took over 120 s and
gigabytes before a single observation came out, and flattening it then recursed as deep. orjson
(the whole-file path) stops at 1,024 levels by itself; the streaming path stops at
:data:`MAX_DEPTH` here, before ijson sees the bytes.

How, cheaply: per chunk, every escape (a backslash and the character after it) is dropped,
splitting at the backslashes (there are few); one ``bytes.translate`` deletes every byte but
``"[]{}``; strings are cut out (``""`` first, then one regular expression); and the running depth
of the brackets left (about 1% of the bytes) is summed with numpy. What spans chunks (inside a
string or not, a trailing backslash, the depth) is carried over. ``bench/hostile_inputs.py``
measures what it adds to a streamed fetch.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

#: The deepest nesting of a bundle's objects and arrays (orjson's own limit is 1,024).
MAX_DEPTH = 1_000

_DELETE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_STRINGS = re.compile(rb'"[^"]*"')
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


class TooDeep(ValueError):
    """The bytes nest deeper than :data:`MAX_DEPTH` within ``[start, end)``."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH:,} levels within bytes {start:,}-{end:,}")


class DepthLimited:
    """A binary file whose :meth:`read` raises :class:`TooDeep` once the JSON it returns
    nests deeper than :data:`MAX_DEPTH` (the bytes are checked before they are returned)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.depth = 0
        self.in_string = False
        self.backslashes = b""  # a chunk's trailing backslashes, escaping the next chunk's start
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if data:
            self._check(data)
            self.offset += len(data)
        return data

    def tell(self) -> int:
        return self.handle.tell()

    def _check(self, data: bytes) -> None:
        text = self.backslashes + data
        trailing = len(text) - len(text.rstrip(b"\\"))
        self.backslashes = b"\\" if trailing % 2 else b""  # it escapes the next chunk's start
        if trailing % 2:
            text = text[:-1]
        if b"\\" in text:
            text = _without_escapes(text)
        text = text.translate(None, _DELETE)
        if self.in_string:
            text = b'"' + text
        # `""` is an empty string, or two strings with nothing between: dropping it first leaves
        # the regular expression a few percent of the bytes
        text = _STRINGS.sub(b"", text.replace(b'""', b""))
        self.in_string = b'"' in text  # a string left open runs into the next chunk
        if self.in_string:
            text = text[: text.index(b'"')]
        if not text:
            return
        running = np.cumsum(_STEP[np.frombuffer(text, dtype=np.uint8)]) + self.depth
        if int(running.max()) > MAX_DEPTH:
            raise TooDeep(self.offset, self.offset + len(data))
        self.depth = int(running[-1])


def _without_escapes(text: bytes) -> bytes:
    """``text`` without its escapes (``\\"``, ``\\\\``, ``\\n``, ...): each backslash and the byte
    after it. ``text`` ends with no unpaired backslash (the reader holds one back)."""
    parts = text.split(b"\\")
    kept = [parts[0]]
    escaped = False  # the backslash before this part is itself escaped: plain text
    for part in parts[1:]:
        if escaped:
            escaped = False
            kept.append(part)
        elif part:
            kept.append(part[1:])  # the backslash escapes the part's first byte
        else:
            escaped = True  # the backslash escapes the next backslash
    return b"".join(kept)
