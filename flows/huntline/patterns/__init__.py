"""Local evaluation of STIX patterns over huntline's tables and over observed-data.

:func:`compile_pattern` parses a pattern once (:mod:`.syntax`); the :class:`LocalPattern` it
returns selects the rows of an entity table (``table_mask``) or the observations of a bundle
(``match_observations``) with stix2-matcher's semantics (:mod:`.evaluate`), comparing whole
Arrow arrays at a time (:mod:`.compare`) on the values each path selects (:mod:`.values`).
The bundle sources, ``filter`` steps, packs and replay use it; stix2-matcher stays the oracle
of the tests.
"""

from huntline.patterns.evaluate import LocalPattern, compile_pattern

__all__ = ["LocalPattern", "compile_pattern"]
