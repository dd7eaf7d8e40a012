"""A book that points at a Sigma rule (``sigma: rules/x.yml``) -> the book the rule converts to.

A team keeps its Sigma repository as the source of truth: its book names the rule and sets
only what is the team's to say around it (``from:`` the data source, ``schedule:``,
``window:``, ``notify:``, or any other book key, which wins over the rule's). Loading it
converts the rule with :mod:`huntline.sigma.convert` and yields the data
:func:`huntline.sigma.books.book_for` gives ``huntline sigma convert`` (id, title, level and
tags from the rule; one ``get`` and the ``alert``), so validate, compile, run, test and deploy
treat it as any book, and a change to the rule is deployed without a conversion step.

Why here: the book imports no stage (``tests/unit/test_layers.py``), and the converter is a
stage, so the book's loader takes this as its :data:`~huntline.book.loader.BookSource` from
:mod:`huntline.steps.book_checks`, the loader every command goes through, one layer above.
Problems are located at the book's ``file:line``: a missing rule file, a rule that does not
convert (the converter's reason, naming the rule file and field), ``sigma:`` with the
``steps:`` or ``alert:`` the rule writes. The digest a run records covers the rule's bytes too.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any

from huntline.book.steps.base import Location
from huntline.errors import BookError
from huntline.sigma.backend import HuntlineBackend
from huntline.sigma.books import book_for
from huntline.sigma.convert import convert_file
from huntline.yamlfile import YamlDocument

KEY = "sigma"
#: What the rule writes, so a book that points at a rule may not.
RULE_KEYS = ("steps", "alert")
#: The data source when the book names none (as ``huntline sigma convert --source``).
DEFAULT_SOURCE = "edr"


@functools.cache
def _backend() -> HuntlineBackend:
    return HuntlineBackend()


def sigma_book(document: YamlDocument) -> YamlDocument:
    """``document`` with its ``sigma:`` rule converted into plain book data (unchanged when
    it has no ``sigma:`` key).

    Raises:
        BookError: the rule is missing or does not convert, or the book also has ``steps:`` or
            ``alert:``; each problem at the book's ``file:line field``.
    """
    data = document.data
    if not isinstance(data, dict) or KEY not in data:
        return document
    file = document.file

    def fail(path: Location, message: str, hint: str) -> BookError:
        return BookError(
            f"{file}: 1 problem", problems=[document.at(path, message)], file=file, hint=hint
        )

    for key in RULE_KEYS:
        if key in data:
            raise fail(
                (key,),
                f"a book with sigma: takes its {key} from the rule",
                f"remove {key}:, or remove sigma: and write the book's steps and alert",
            )
    named = data[KEY]
    if not isinstance(named, str) or not named.strip():
        raise fail((KEY,), "expected the path of a Sigma rule file", "e.g. sigma: rules/x.yml")
    rule = Path(file).parent / named
    if not rule.is_file():
        raise fail(
            (KEY,),
            f"no Sigma rule file {rule}",
            "the path is relative to the book's folder",
        )
    results = list(convert_file(rule, _backend()))
    if len(results) != 1:
        raise fail(
            (KEY,),
            f"{rule} holds {len(results)} rules, a book points at one",
            "split the rules into files of one rule each",
        )
    result = results[0]
    if result.error is not None:
        reason = result.error.context.get("reason", "invalid rule")
        raise fail(
            (KEY,),
            f"the rule does not convert ({reason}): {result.error.message}",
            "fix the rule (huntline sigma coverage RULE says why rules do not convert)",
        )
    own = {key: value for key, value in data.items() if key not in (KEY, "from", "notify")}
    book: dict[str, Any] = {
        **book_for(result, source=DEFAULT_SOURCE, schedule=None),
        **own,
    }
    if "from" in data:  # as written (one source or several), validated as any get's from:
        book["steps"] = [{**book["steps"][0], "from": data["from"]}]
    if "notify" in data:
        book["alert"] = {**book["alert"], "notify": data["notify"]}
    return dataclasses.replace(
        document,
        data=book,
        lines=_lines(document),
        sha256=_digest(document.sha256, rule) if document.sha256 else "",
    )


def _lines(document: YamlDocument) -> dict[Location, int]:
    """The book's lines, with what the rule wrote at the ``sigma:`` line and the book-level
    ``from:`` and ``notify:`` at their own lines under the places they now hold."""
    lines = dict(document.lines)
    at = document.line((KEY,))
    lines[("steps",)] = lines[("alert",)] = at
    for path, line in document.lines.items():
        if path[:1] == ("from",):
            lines[("steps", 0, *path)] = line
        elif path[:1] == ("notify",):
            lines[("alert", *path)] = line
    return lines


def _digest(book_sha256: str, rule: Path) -> str:
    """What ran is the book and the rule: the sha256 of both files' digests."""
    rule_sha256 = hashlib.sha256(rule.read_bytes()).hexdigest()
    return hashlib.sha256(f"{book_sha256}\n{rule_sha256}".encode()).hexdigest()
