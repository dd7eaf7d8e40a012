"""STIX observed-data -> occurrence rows: one row per SCO an observation holds, with
Kestrel/firepit column names and ids. :mod:`.rules` is the reference (readable, the spec of
every rule); :mod:`.collect` runs the same rules fast, in C (``_occurrences.c``, configured by
:mod:`.native`) when it is built. :mod:`.identity` and :mod:`.plans` hold the rules' tables.
"""
