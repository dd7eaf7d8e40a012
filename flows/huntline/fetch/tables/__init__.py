"""Occurrence rows -> one table per entity type: :class:`.spool.EntitySpool` (the entry point
of a paged fetch) spills pages, merges each entity's occurrences (:mod:`.merge`, in id
:mod:`.buckets` when large), dereferences ``*_ref`` columns (:mod:`.references`), and
:mod:`.select` keeps the entities a pattern names. :mod:`.flatten` is the whole-page shortcut.
"""
