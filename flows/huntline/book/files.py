"""Which files are hunt books: the books a list of paths names, directories searched.

``huntline deploy`` (every book under ``hunts/``), ``huntline test`` and ``huntline attack``
take the same paths, so the rule lives with the book: a file is a book when it holds ``id`` and
``steps``, or ``sigma`` (a book that points at a Sigma rule); a book's tests
(``BOOK.tests.yaml``) and other YAML (intel feeds) are not books.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from huntline.errors import HuntlineError
from huntline.yamlfile import load_yaml

#: A book's tests sit beside it: ``hunts/x.yaml`` -> ``hunts/x.tests.yaml``.
TESTS_SUFFIX = ".tests.yaml"


def book_paths(paths: Sequence[Path]) -> list[Path]:
    """The hunt books named by ``paths``: books themselves, and the books in folders (files
    with ``id`` and ``steps``, or ``sigma``; tests files and other YAML such as intel feeds
    are not books)."""
    books: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(
                p for p in path.rglob("*.y*ml") if not p.name.endswith(TESTS_SUFFIX)
            )
            books += [p for p in candidates if _is_book(p)]
        elif not path.name.endswith(TESTS_SUFFIX):
            books.append(path)
    return list(dict.fromkeys(books))


def _is_book(path: Path) -> bool:
    try:
        data = load_yaml(path, HuntlineError, "YAML file").data
    except HuntlineError:
        return False
    return isinstance(data, dict) and ("sigma" in data or ("steps" in data and "id" in data))
