"""The ids of one observation's SCOs that their content alone does not decide, for :mod:`.collect`.

:class:`ObsIds` follows ``occurrences._Ids`` to the letter, on demand per observation: hosted
processes, anonymous SCOs, and SCOs identified through their references' targets. An SCO
identified through references remembers its id per resolved targets (on its
:class:`.shapes.GeneralId`); the uuid5s of hosted processes and anonymous SCOs (unique names,
so never worth caching) are hashed directly, the observation digest's sha1 state reused.
"""

from __future__ import annotations

from hashlib import sha1
from typing import Any

import orjson

from huntline.fetch.base import ObservedData
from huntline.fetch.stix.identity import (
    ID_NAMESPACE,
    OCCURRENCE_NAMESPACE,
    IdCache,
    asset_id,
    canonical_json,
    observation_digest,
)
from huntline.fetch.stix.plans import ANONYMOUS, FIXED, GENERAL, HOSTED
from huntline.fetch.stix.shapes import UNKNOWN, Shape

__all__ = ["ObsIds"]

#: The 17th hex digit of a uuid5 (its variant bits) by the sha1 digit it replaces.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_MEMO_SIZE = 256
#: The sha1 state after a hosted process's uuid5 namespace and name up to its value.
_HOSTED_PREFIX = sha1(ID_NAMESPACE + b'{"x_unique_id":')


def _uuid5(data: bytes, prefix: Any = None) -> str:
    """``identity.uuid5`` of namespace + name given as one ``data`` (after the sha1 state of
    ``prefix``, a shared start, when given), computed on the hex text."""
    if prefix is None:
        h = sha1(data).hexdigest()
    else:
        state = prefix.copy()
        state.update(data)
        h = state.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class ObsIds:
    """The ids of one observation's SCOs that its content alone does not decide, on demand.

    The same rules as ``occurrences._Ids`` with plans (hosted processes, anonymous SCOs, SCOs
    identified through their references' targets).
    """

    __slots__ = ("_asset", "_digest", "cache", "known", "objects", "obs", "shapes")

    def __init__(
        self,
        obs: ObservedData,
        objects: dict[str, Any],
        cache: IdCache,
        shapes: dict[str, Shape],
        known: dict[str, str],
    ) -> None:
        self.obs = obs
        self.objects = objects
        self.cache = cache
        self.shapes = shapes
        self.known = known
        self._digest: Any = None  # the sha1 state after namespace + observation digest
        self._asset: Any = UNKNOWN

    def of(self, key: str) -> str:
        found = self.known.get(key)
        if found is not None:
            return found
        shape = self.shapes[key]  # only SCOs are asked for: the page's and references' targets
        kind = shape.kind
        if kind == ANONYMOUS:
            found = self._anonymous(shape.sco_type, key)
        elif kind == HOSTED:
            found = self._hosted(shape, key)
        elif kind == FIXED:
            found = shape.sid
            assert found is not None
        else:
            found = self._general(shape, key)
        self.known[key] = found
        return found

    def _hosted(self, shape: Shape, key: str) -> str:
        """A process without a unique id: ``<pid>_<host>_<last_observed>`` (``id_for``'s
        name, built directly: these ids are unique, so not worth caching)."""
        if self._asset is UNKNOWN:
            self._asset = asset_id(self.objects)
        pid, asset = shape.pid, self._asset
        if not (pid and asset):
            return self._anonymous("process", key)
        unique = f"{pid}_{asset}_{self.obs.get('last_observed')}"
        try:
            text = orjson.dumps(unique).replace(b"/", b"\\/")
        except TypeError:  # pragma: no cover - a lone surrogate; canonical_json's fallback
            return "process--" + _uuid5(ID_NAMESPACE + canonical_json({"x_unique_id": unique}))
        return "process--" + _uuid5(text + b"}", _HOSTED_PREFIX)

    def _general(self, shape: Shape, key: str) -> str:
        """An SCO identified through its references' targets (file, network-traffic, ...)."""
        general = shape.general
        assert general is not None
        resolved: list[str | None] = []
        for _, value in general.refs:
            if isinstance(value, str) and value in self.shapes:  # an SCO of this observation
                resolved.append(self._target(value))
            else:
                resolved.append(None)
        memo_key = tuple(resolved)
        memo = general.memo
        found = memo.get(memo_key)
        if found is not None:
            return found
        contrib = dict(general.static)
        for (prop, _), target in zip(general.refs, resolved, strict=True):
            if target is not None:
                contrib[prop] = target
        if not contrib:
            return self._anonymous(shape.sco_type, key)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        found = memo[memo_key] = self.cache.id_for(shape.sco_type, contrib)
        return found

    def _target(self, key: str) -> str:
        """A reference target's id the way firepit computes it: without the observation."""
        shape = self.shapes[key]
        kind = shape.kind
        if kind == FIXED:
            return shape.sid  # type: ignore[return-value]
        if kind != GENERAL:
            return self.of(key)
        general = shape.general
        assert general is not None
        if general.free_id is UNKNOWN:
            contrib = {**general.static, **dict(general.refs)}
            general.free_id = self.cache.id_for(shape.sco_type, contrib) if contrib else None
        return general.free_id if general.free_id is not None else self.of(key)

    def _anonymous(self, sco_type: str, key: str) -> str:
        """``identity.occurrence_id``: from the observation's content and the SCO's key."""
        prefix = self._digest
        if prefix is None:
            prefix = self._digest = sha1(OCCURRENCE_NAMESPACE + observation_digest(self.obs))
        return f"{sco_type}--{_uuid5(key.encode(), prefix)}"
