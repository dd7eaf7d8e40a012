"""The states of a ledger entry, in a module of their own: ``huntline alerts list --status``
offers them in ``--help``, which must not import pyarrow for that (:mod:`.ledger` does)."""

STATUSES = ("new", "pending", "delivered", "suppressed", "failed")
