"""Entity ids: which SCOs are "the same entity", compatible with firepit 2.3.

An SCO's id is ``<type>--<uuid5>`` over its *identifying properties*, so the same file, address
or user seen in many observations gets one id and one row. The rules are firepit 2.3's (they
follow STIX 2.1 deterministic ids), reproduced exactly so that ids are equal to firepit's
wherever firepit's are deterministic:

- identifying properties per type (:data:`ID_PROPERTIES`), e.g. ``ipv4-addr``: ``value``;
  ``file``: ``hashes``, ``name``, ``extensions``, ``parent_directory_ref``; ``network-traffic``:
  ``start``, ``end``, ``src_ref``, ``dst_ref``, ``src_port``, ``dst_port``, ``protocols``,
  ``extensions``; ``x-oca-asset``: ``host_id``, ``device_id``, ``name``, ``hostname``;
- ``hashes`` contributes one hash: ``MD5`` if present, else the alphabetically first key;
- a ``*_ref`` contributes the id of its target, computed without the observation's context;
- a process is identified by ``x_unique_id``, else by a unique id in an extension
  (``process_id``, ``process_uid``, ``process_unique_id``, ``process_guid``), else by
  ``<pid>_<host id or hostname of the observation's first x-oca-asset>_<last_observed>``;
- the uuid5 name is the JSON of those properties with sorted keys and ``/`` escaped as ``\\/``
  (ujson's output, which firepit uses), in the namespace ``00abedb4-aa42-466c-9c01-fed23315a9b7``.

**Anonymous SCOs** (no identifying property: an ``x-oca-event``, an ``x-ecs-*`` object, a process
without a unique id or a host) get a *random* uuid4 in firepit, so each occurrence is its own row
and a rerun gives new ids. huntline instead derives a uuid5 (namespace :data:`OCCURRENCE_NAMESPACE`)
from the observation's content (its ``objects``, ``first_observed``, ``last_observed`` and
``number_observed``, not its own id, which stix-shifter connectors draw at random on every query)
and the SCO's key in ``objects``. Each occurrence is still its own row, and a rerun over the same
data gives the same ids. The one difference in rows: two observations with identical content
(only their ids differ) are the same occurrence to huntline and one row, where firepit has two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import orjson

ID_NAMESPACE = bytes.fromhex("00abedb4aa42466c9c01fed23315a9b7")
OCCURRENCE_NAMESPACE = bytes.fromhex("6b1f3c2e9d4a5e7fa0c1d2e3f4a5b6c7")

ID_PROPERTIES: dict[str, tuple[str, ...]] = {
    "artifact": ("hashes", "payload_bin"),
    "autonomous-system": ("number",),
    "directory": ("path",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "email-message": ("from_ref", "subject", "body"),
    "file": ("hashes", "name", "extensions", "parent_directory_ref"),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "network-traffic": (
        "start",
        "end",
        "src_ref",
        "dst_ref",
        "src_port",
        "dst_port",
        "protocols",
        "extensions",
    ),
    "process": ("x_unique_id",),
    "software": ("name", "cpe", "swid", "vendor", "version"),
    "url": ("value",),
    "user-account": ("account_type", "user_id", "account_login"),
    "windows-registry-keys": ("key", "values"),
    "x509-certificate": ("hashes", "serial_number"),
    "x-oca-asset": ("host_id", "device_id", "name", "hostname"),
}
#: Types whose id depends only on the SCO itself (no reference, no observation context).
SELF_CONTAINED = frozenset(
    t
    for t, props in ID_PROPERTIES.items()
    if t != "process" and not any(p.endswith("_ref") for p in props)
)
PROCESS_UNIQUE_ID_KEYS = ("process_id", "process_uid", "process_unique_id", "process_guid")
# Compared with the keys as written, so STIX 2.0's unquoted ``SHA-256`` only matches MD5 here.
PREFERRED_HASHES = ("MD5", "'SHA-1'", "'SHA-256'", "'SHA-512'")


def compact(data: bytes) -> bytes:
    """A right-sized copy: orjson's bytes keep a ~4 KB buffer, too much for a cache key."""
    return bytes(memoryview(data))


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys, compact, non-ASCII kept and ``/`` escaped: ujson's bytes.

    ``/`` only occurs inside JSON strings, so escaping it in the text is exact.
    """
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits; rare enough for the slow path
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
    return text.replace(b"/", b"\\/")


def uuid5(namespace: bytes, name: bytes) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building UUID objects (it is hot)."""
    digest = bytearray(hashlib.sha1(namespace + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdCache:
    """uuid5 by name, remembered: the same few files, users and addresses recur constantly."""

    def __init__(self, size: int = 200_000, plans: int = 20_000) -> None:
        self._ids: dict[bytes, str] = {}
        self._size = size
        self.plan_size = plans
        self.by_content: dict[bytes, str] = {}
        #: Flattening plans by SCO content (:mod:`.plans`): fewer, as each is a few objects the
        #: garbage collector walks, and recurring contents are a small set.
        self.plans: dict[bytes, Any] = {}

    def remember(self, content: bytes, sco_id: str) -> None:
        """Remember the id of an SCO whose id depends on nothing but its own content."""
        if len(self.by_content) >= self._size:
            self.by_content.clear()
        self.by_content[compact(content)] = sco_id

    def id_for(self, sco_type: str, contrib: dict[str, Any]) -> str:
        name = canonical_json(contrib)
        known = self._ids.get(name)
        if known is None:
            if len(self._ids) >= self._size:
                self._ids.clear()  # bounded memory; a miss only costs one sha1
            known = self._ids[compact(name)] = uuid5(ID_NAMESPACE, name)
        return f"{sco_type}--{known}"


def identifying_properties(
    sco: dict[str, Any],
    objects: dict[str, Any] | None,
    last_observed: Any,
    target_id: Callable[[str], str],
) -> dict[str, Any]:
    """The properties that make up ``sco``'s id (empty: the SCO is anonymous).

    Args:
        sco: The SCO as it appears in the observation.
        objects: The observation's ``objects``; None when computing the id of a reference
            target, which firepit does without the observation's context.
        last_observed: The observation's ``last_observed``, part of a process's host identity.
        target_id: The id of the SCO under a key of ``objects`` (for identifying ``*_ref``s).
    """
    sco_type = sco.get("type")
    contrib: dict[str, Any] = {}
    for prop in ID_PROPERTIES.get(sco_type, ()):  # type: ignore[arg-type]
        if prop == "hashes":
            hashes = sco.get("hashes")
            if hashes and isinstance(hashes, dict):
                preferred = [h for h in PREFERRED_HASHES if hashes.get(h)]
                key = preferred[0] if preferred else sorted(hashes)[0]
                contrib["hashes"] = {key.strip("'"): hashes[key]}
        elif prop in sco:
            value = sco[prop]
            if not prop.endswith("_ref") or objects is None:
                contrib[prop] = value
            elif is_sco(objects, value):
                contrib[prop] = target_id(value)  # a reference to anything else is dropped
    if sco_type == "process" and "x_unique_id" not in contrib:
        unique = _extension_unique_id(sco)
        if unique:
            contrib["x_unique_id"] = unique
        elif objects is not None:
            pid, asset = sco.get("pid"), asset_id(objects)
            if pid and asset:
                contrib["x_unique_id"] = f"{pid}_{asset}_{last_observed}"
    return contrib


def is_sco(objects: dict[str, Any], key: Any) -> bool:
    """Whether ``key`` names an SCO of ``objects`` (a dict with a string ``type``)."""
    if not isinstance(key, str):
        return False
    target = objects.get(key)
    return isinstance(target, dict) and isinstance(target.get("type"), str)


def _extension_unique_id(sco: dict[str, Any]) -> Any:
    extensions = sco.get("extensions")
    if not isinstance(extensions, dict):
        return None
    for extension in extensions.values():
        if isinstance(extension, dict):
            for key in PROCESS_UNIQUE_ID_KEYS:
                if extension.get(key):
                    return extension[key]
    return None


def asset_id(objects: dict[str, Any]) -> Any:
    """The host id (or hostname) of the observation's first x-oca-asset that has one."""
    for sco in objects.values():
        if isinstance(sco, dict) and sco.get("type") == "x-oca-asset":
            for prop in ("host_id", "hostname"):
                if prop in sco:
                    return sco[prop]
    return None


def observation_digest(obs: dict[str, Any]) -> bytes:
    """What makes an observation the same occurrence on a rerun: its content, not its id."""
    content = {
        "objects": obs.get("objects"),
        "first_observed": obs.get("first_observed"),
        "last_observed": obs.get("last_observed"),
        "number_observed": obs.get("number_observed"),
    }
    return hashlib.sha1(canonical_json(content)).digest()


def occurrence_id(sco_type: str, digest: bytes, key: str) -> str:
    """The deterministic id of an anonymous SCO: its observation's content and its key."""
    return f"{sco_type}--{uuid5(OCCURRENCE_NAMESPACE, digest + key.encode())}"
