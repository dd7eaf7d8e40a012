"""Rule packs: many member books sharing one fetch per source, entity and window.

A pack file (:mod:`.model`) names its members (a list of books, or a folder such as
``hunts/sigma/``) and what they share: the source, the entity and the window. A pack run
(:mod:`.run`) fetches once, with a pattern covering every member (:mod:`.cover`: the OR of
their patterns, or every entity of the type), stores that table once under the pack's own
prefix, then runs each member as if alone over it: the member's own pattern selects its rows
(:mod:`huntline.patterns`), then its other steps, its alert section, its alert ids, dedup,
suppression and ledger (all keyed by the member's id), and its own manifest. One member failing
is reported and does not stop the others.
"""

from huntline.packs.model import Pack, load_pack, read_pack_file
from huntline.packs.run import MemberResult, PackReport, pack_cover, pack_window, run_pack

__all__ = [
    "MemberResult",
    "Pack",
    "PackReport",
    "load_pack",
    "pack_cover",
    "pack_window",
    "read_pack_file",
    "run_pack",
]
