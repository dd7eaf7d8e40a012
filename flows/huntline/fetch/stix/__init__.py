"""STIX observed-data -> occurrence rows: one row per SCO an observation holds, with
Kestrel/firepit column names and ids. :mod:`.rules` is the reference (readable, the spec of
every rule, and the fallback); :mod:`.collect` runs the C collector (``_occurrences.c``,
configured by :mod:`.native`) when it is built, and the reference otherwise. :mod:`.identity`
and :mod:`.plans` hold the rules' tables.
"""
