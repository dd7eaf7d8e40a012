"""``huntline replay``: re-evaluate a (typically edited) book over the fetch tables that past
runs stored, with no source queried, and compare its alerts with what was raised then.

:mod:`.covers` decides, per stored run, whether the stored fetch provably covers what the book
would fetch now; :mod:`.run` replays the covered ones in a scratch store and compares alert ids
(the dedup keys). Nothing is written to the hunt's storage, its ledger is not read or written,
and no destination is notified.
"""

from huntline.replay.run import ReplayReport, WindowReplay, replay

__all__ = ["ReplayReport", "WindowReplay", "replay"]
