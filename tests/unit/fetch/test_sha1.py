"""The C collector's SHA-1 (``_sha1.c``) gives hashlib's digests, with SHA-NI and without.

Every id is a uuid5, so a wrong digest would change every id; the message lengths cover the
padding's edges (55, 56, 63, 64 bytes and their neighbours) and several blocks.
"""

from __future__ import annotations

import hashlib
import random
from types import ModuleType

import pytest


@pytest.mark.parametrize("portable", [False, True])
def test_digests_equal_hashlib(portable: bool, c_collector: ModuleType) -> None:
    generator = random.Random(3)
    for length in [*range(0, 200), 1000, 4096, 12_345]:
        data = generator.randbytes(length)
        assert c_collector.sha1(data, portable) == hashlib.sha1(data).digest(), length
