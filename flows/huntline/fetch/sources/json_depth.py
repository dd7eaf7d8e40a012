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

On the way, the colons inside the bundle's items are counted for :mod:`.json_keys` (which
compares them with what was parsed): every colon read (one ``bytes.count``), less the pairs
outside the items. Those are counted, with the colons kept, only in a read that is not wholly
inside the one array of items (the first and last reads of a bundle): ``bench/duplicate_keys.py``.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

#: The deepest nesting of a bundle's objects and arrays (orjson's own limit is 1,024).
MAX_DEPTH = 1_000
#: Items of the bundle's ``objects`` are this deep (the bundle is 1, ``objects`` 2): the
#: colons from there on are what the streaming parser hands out (:mod:`.json_keys`).
PAIRS_FROM = 3

_DELETE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_DELETE_BUT_COLONS = bytes(byte for byte in range(256) if byte not in b'"[]{}:')
_COLON = ord(":")
_ARRAY = ord("[")
_OPENS = np.zeros(256, dtype=bool)
_OPENS[list(b"[{")] = True
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
        self.colons = 0  # every ':' read, in strings or not
        self.shallow = 0  # pairs (a ':' outside strings) nested less than PAIRS_FROM deep
        self.shallow_kind = 0  # the bracket that opened the container PAIRS_FROM - 1 deep
        self.tail = b""  # the last bytes read, for an escape split between two reads

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if data:
            self._check(data)
            self.offset += len(data)
            # every colon, a \u003a escape too (also one split between two reads)
            self.colons += data.count(b":") + _escaped_colons(self.tail + data[:5])
            self.colons += _escaped_colons(data)
            self.tail = (self.tail + data)[-5:]
        return data

    def tell(self) -> int:
        return self.handle.tell()

    @property
    def item_colons(self) -> int:
        """The colons read so far inside the bundle's items (structural or in strings), or more
        when a value outside them nests or a string outside them holds colons."""
        return self.colons - self.shallow

    def _check(self, data: bytes) -> None:
        text = self.backslashes + data
        trailing = len(text) - len(text.rstrip(b"\\"))
        self.backslashes = b"\\" if trailing % 2 else b""  # it escapes the next chunk's start
        if trailing % 2:
            text = text[:-1]
        if b"\\" in text:
            text = _without_escapes(text)
        plain, in_string, start = text, self.in_string, self.depth
        text = _cut_strings(text.translate(None, _DELETE), in_string)
        self.in_string = b'"' in text  # a string left open runs into the next chunk
        if self.in_string:
            text = text[: text.index(b'"')]
        # inside the one array of items (the bundle's objects), every pair is an item's
        inside = start >= PAIRS_FROM - 1 and self.shallow_kind == _ARRAY
        if text:
            kept = np.frombuffer(text, dtype=np.uint8)
            running = np.cumsum(_STEP[kept]) + start
            if int(running.max()) > MAX_DEPTH:
                raise TooDeep(self.offset, self.offset + len(data))
            self.depth = int(running[-1])
            opened = np.flatnonzero(_OPENS[kept] & (running == PAIRS_FROM - 1))
            if opened.size:
                self.shallow_kind = int(kept[opened[-1]])
            inside = inside and not opened.size and int(running.min()) >= PAIRS_FROM - 1
        if not inside:
            self.shallow += _shallow_pairs(plain, in_string, start)


def _cut_strings(text: bytes, in_string: bool) -> bytes:
    """``text`` (escapes gone, only ``"`` and structure left) without its strings; a string
    left open stays as its opening ``"`` and what follows."""
    if in_string:
        text = b'"' + text
    # `""` is an empty string, or two strings with nothing between: dropping it first leaves
    # the regular expression a few percent of the bytes
    return _STRINGS.sub(b"", text.replace(b'""', b""))


def _shallow_pairs(plain: bytes, in_string: bool, start: int) -> int:
    """The pairs (colons outside strings) of ``plain`` (a read, escapes gone) nested less than
    :data:`PAIRS_FROM` deep: the bundle's own and those of values beside its items."""
    text = _cut_strings(plain.translate(None, _DELETE_BUT_COLONS), in_string)
    if b'"' in text:
        text = text[: text.index(b'"')]
    kept = np.frombuffer(text, dtype=np.uint8)
    running = np.cumsum(_STEP[kept]) + start
    return int(np.count_nonzero(running[kept == _COLON] < PAIRS_FROM))


def _escaped_colons(data: bytes) -> int:
    if b"\\u003" not in data:
        return 0
    return data.count(b"\\u003a") + data.count(b"\\u003A")


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
