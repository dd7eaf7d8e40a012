"""Which files are hunt books: the books a list of paths names, directories searched.

``huntline deploy`` (every book under ``hunts/``), ``huntline test`` and ``huntline attack``
take the same paths, so the rule lives with the book: a file is a book when it holds ``id`` and
``steps``, or ``sigma`` (a book that points at a Sigma rule); a book's tests
(``BOOK.tests.yaml``) and other YAML (intel feeds) are not books. A file with ``pack`` and
``members`` is a rule pack (:mod:`huntline.packs`); ``huntline deploy`` finds books and packs in
one pass over a folder (:func:`hunt_files`), since a folder may hold a thousand Sigma books.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from huntline.errors import HuntlineError
from huntline.yamlfile import load_yaml

#: A book's tests sit beside it: ``hunts/x.yaml`` -> ``hunts/x.tests.yaml``.
TESTS_SUFFIX = ".tests.yaml"


def book_paths(paths: Sequence[Path]) -> list[Path]:
    """The hunt books named by ``paths``: books themselves, and the books in folders (files
    with ``id`` and ``steps``, or ``sigma``; tests files and other YAML such as intel feeds
    are not books); a file named is taken as a book."""
    books: list[Path] = []
    for path in paths:
        if path.is_dir():
            books += hunt_files([path])[0]
        elif not path.name.endswith(TESTS_SUFFIX):
            books.append(path)
    return list(dict.fromkeys(books))


def hunt_files(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The books and the pack files named by ``paths`` (a file named is taken as a book unless
    it is a pack); folders are searched, each file read once."""
    books: list[Path] = []
    packs: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(
                p for p in path.rglob("*.y*ml") if not p.name.endswith(TESTS_SUFFIX)
            )
            for candidate in candidates:
                kind = _kind(candidate)
                if kind is not None:
                    (books if kind == "book" else packs).append(candidate)
        elif not path.name.endswith(TESTS_SUFFIX):
            (packs if _kind(path) == "pack" else books).append(path)
    return list(dict.fromkeys(books)), list(dict.fromkeys(packs))


def _kind(path: Path) -> Literal["book", "pack"] | None:
    try:
        data = load_yaml(path, HuntlineError, "YAML file").data
    except HuntlineError:
        return None
    if not isinstance(data, dict):
        return None
    if "sigma" in data or ("steps" in data and "id" in data):
        return "book"
    return "pack" if "pack" in data and "members" in data else None
