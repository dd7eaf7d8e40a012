"""Keys repeated within one JSON object of a STIX bundle: found cheaply, then named.

Why: a JSON reader keeps the last value of a repeated key (orjson, ijson, Python's ``json``, and
so stix2-matcher and stix-shifter's ``stix_bundle`` connector). In a bundle, a key repeated in an
observation's ``objects`` drops a whole entity, and a repeated property replaces a value, without
a word. Every YAML file refuses them (:mod:`huntline.yamlfile`); a bundle is data from elsewhere,
so its fetch goes on, reads the last value as every other reader does, and says what it dropped:
each repetition is counted (``bundle.duplicate keys`` in the step's output and the run's
manifest, :mod:`huntline.fetch.tally`) and named in a warning (the bundle, the observation's id,
where in it and which key).

Why the last value and not both: references (``*_ref``) name an entity by its key, and every
other reader resolves a key to its last value. Keeping the earlier one too would add an entity
that no reference can name, under a key huntline made up, and the same bundle would give other
rows here than in stix2-matcher or stix-shifter. The warning is what makes the dropped value
visible; the count makes it visible in the manifest.

How, cheaply (``bench/duplicate_keys.py``): the colons are counted twice, in the text and in what
was parsed written again with ``orjson.dumps`` (one ``bytes.count`` each). A colon is either the
colon of a pair or part of a string, and orjson writes a string's colons as they are; a repeated
key drops its pair and its value, so fewer colons are parsed than were read. A ``\\u003a`` escape
in the text counts as a colon. Streamed (:func:`.bundle.stream_observed_data`),
:class:`.json_depth.DepthLimited` counts the colons as it bounds the depth, less the pairs outside
the bundle's items (which the streaming parser does not hand out).

- Over HTTP (stix-shifter's ``stix_bundle`` connector, which parses the whole download with
  ``json.loads`` on every results page): the same two counts on the text and what it parsed
  (:func:`check_text`, installed by :mod:`huntline.fetch.stix.matcher_patches`), reported once
  per bundle and fetch.

Only when the counts differ is the text read again, event by event (ijson, several times slower
than parsing), to name each repetition: a cost paid by bundles that have them, or, finding
nothing, by the odd bundle whose counts differ for another reason (a text ``\\\\u003a``, colons
in a string beside the items), never the other way round.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson

from huntline.fetch import tally

__all__ = ["READING", "Repeat", "check_text", "repeats", "report", "text_colons", "value_colons"]

#: Repetitions named one by one per bundle; the rest are counted and summed up in one line.
NAMED = 10
#: Items written with ``orjson.dumps`` at a time when counting what was parsed.
_BATCH = 1000
_ITEM = "objects.item"
_KEPT = "the last value was read"

#: The bundle a third-party reader is parsing (its URL, without credentials), set by the source
#: around the call that reads it; :func:`check_text` checks only while it is set.
READING: ContextVar[str | None] = ContextVar("huntline_bundle_reading", default=None)


@dataclass(frozen=True)
class Repeat:
    """One key given more than once in one JSON object.

    Attributes:
        key: The key.
        where: The object's path inside its bundle item (``objects`` for an observation's
            objects, ``objects.0`` for an SCO's properties, ``""`` for the item itself), or in
            the bundle for what is outside its items.
        item: The index of the bundle item it is in, or None outside the items.
        item_id: That item's ``id`` when it has a text one (shown when printable and short).
        times: How many times the key was given.
    """

    key: str
    where: str
    item: int | None
    item_id: str | None
    times: int

    def describe(self, bundle: str) -> str:
        dropped = "the earlier one" if self.times == 2 else f"the {self.times - 1} earlier ones"
        said = f"the key {self.key!r} {_times(self.times)}"
        if self.item is None:
            place = f" in {self.where}" if self.where else " at its top level"
            return f"STIX bundle {bundle} has {said}{place}: {_KEPT}, {dropped} dropped"
        shown = self.item_id is not None and self.item_id.isprintable() and len(self.item_id) < 200
        who = self.item_id if shown else f"object #{self.item}"
        place = f" in {self.where}" if self.where else ""
        return f"STIX bundle {bundle}: {who} has {said}{place}: {_KEPT}, {dropped} dropped"


def _times(n: int) -> str:
    return "twice" if n == 2 else f"{n} times"


def value_colons(value: Any) -> int:
    """Every ``:`` of ``value`` written as JSON: the colon of each pair, and those in strings.

    A bundle's items, or a list of items, are written a thousand at a time; what orjson cannot
    write (an int beyond 64 bits, a lone surrogate) is walked instead.
    """
    if isinstance(value, dict) and isinstance(value.get("objects"), list) and value["objects"]:
        return value_colons({**value, "objects": []}) + value_colons(value["objects"])
    parts = (
        [value[i : i + _BATCH] for i in range(0, len(value), _BATCH)]
        if isinstance(value, list)
        else [value]
    )
    colons = 0
    for part in parts:
        try:
            colons += orjson.dumps(part).count(b":")
        except orjson.JSONEncodeError:
            colons += _walked(part)
    return colons


def _walked(value: Any) -> int:
    """:func:`value_colons` of ``value``, walking it."""
    colons = 0
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            colons += current.count(":")
        elif isinstance(current, dict):
            colons += len(current) + sum(key.count(":") for key in current)
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return colons


def text_colons(text: bytes) -> int:
    """Every ``:`` of a JSON text, a ``\\u003a`` escape counting as one."""
    colons = text.count(b":")
    if b"\\u003" in text:
        colons += text.count(b"\\u003a") + text.count(b"\\u003A")
    return colons


def repeats(source: BinaryIO, *, top_level: bool) -> Iterator[Repeat]:
    """Every key repeated within one object of the JSON in ``source``, read event by event.

    Args:
        top_level: Also report the bundle's own keys (the streaming reader reads every
            ``objects`` array of a bundle, so a repeated ``objects`` drops nothing there).
    """
    keys: list[dict[str, int]] = []  # per open object: how often each key was given
    item = -1
    item_id: str | None = None
    found: dict[tuple[str, str], int] = {}  # in the current item: (where, key) -> times
    for prefix, event, value in ijson.parse(source):
        if prefix == _ITEM and event not in ("map_key", "end_map", "end_array"):
            item, item_id = item + 1, None  # an item begins
        elif prefix == "objects.item.id" and event == "string" and len(keys) == 2:
            item_id = value
        if event == "start_map":
            keys.append({})
        elif event == "map_key":
            seen = keys[-1]
            seen[value] = seen.get(value, 0) + 1
        elif event == "end_map":
            seen = keys.pop()
            where = _where(prefix)
            for key, times in seen.items():
                if times > 1 and (where is not None or top_level):
                    found[(where or "", key)] = times
        inside = prefix == _ITEM or prefix.startswith(_ITEM + ".")
        if found and prefix == _ITEM and event in ("end_map", "end_array"):
            yield from (Repeat(k, w, item, item_id, n) for (w, k), n in found.items())
            found = {}
        elif found and not inside:
            yield from (Repeat(k, w, None, None, n) for (w, k), n in found.items())
            found = {}


def _where(prefix: str) -> str | None:
    """An object's path as :class:`Repeat` gives it, from ijson's prefix (None: the bundle)."""
    if prefix == _ITEM:
        return ""
    if prefix.startswith(_ITEM + "."):
        return prefix[len(_ITEM) + 1 :]
    return prefix or None


def report(name: str, source: BinaryIO | Path | bytes, *, top_level: bool) -> int:
    """Read ``source`` again to name its repeated keys: count them (``bundle.duplicate keys``)
    and note a warning for each (up to :data:`NAMED`, then one line for the rest). Returns how
    many values were dropped."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return report(name, handle, top_level=top_level)
    dropped = named = 0
    try:
        for repeat in repeats(source, top_level=top_level):
            dropped += repeat.times - 1
            named += 1
            if named <= NAMED:
                tally.note(repeat.describe(name))
    except (ijson.JSONError, UnicodeDecodeError) as error:  # what orjson or json read after all
        tally.note(f"STIX bundle {name} repeats keys that could not be named: {error}")
        dropped = max(dropped, 1)
    if named > NAMED:
        tally.note(f"STIX bundle {name}: {named - NAMED} more keys repeated (not named)")
    if dropped:
        tally.count("bundle.duplicate keys", dropped)
    return dropped


def check_text(text: str | bytes, value: Any) -> None:
    """Name the keys repeated in ``text`` (a bundle a third-party reader parsed into ``value``)
    while :data:`READING` names it: once per bundle and fetch."""
    name = READING.get()
    if name is None:
        return
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    colons = text_colons(data)
    if colons != value_colons(value) and tally.first_time(f"{name}\0{len(data)}\0{colons}"):
        report(name, data, top_level=True)
