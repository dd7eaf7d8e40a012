"""The files ``huntline validate`` checks when given a folder (``huntline validate hunts/``).

A file named is checked as it is; a folder stands for every file in it that huntline reads:
hunt books and rule packs (:func:`huntline.book.files.hunt_files`, one read of each file), the
books' tests files and intel feed files (``intel.yaml``); sorted, packs last, each once.
"""

from __future__ import annotations

from pathlib import Path

from huntline.book.files import TESTS_SUFFIX, hunt_files


def files_to_validate(paths: list[str]) -> list[str]:
    """``paths`` with each folder replaced by the files in it that huntline reads."""
    found: list[str] = []
    for name in paths:
        path = Path(name)
        if not path.is_dir():
            found.append(name)
            continue
        books, packs = hunt_files([path])
        others = [*path.rglob(f"*{TESTS_SUFFIX}"), *path.rglob("intel.yaml")]
        found += sorted(str(p) for p in {*books, *others})
        found += sorted(str(p) for p in packs)
    return list(dict.fromkeys(found))
