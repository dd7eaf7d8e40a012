"""Hostile YAML (issue 22, items 2, 6, 10 and 11) through the one reader of user files: each is
refused quickly with an error at its file and line, never a hang, a traceback or exit 3."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from huntline.book import load_book
from huntline.cli import main
from huntline.errors import BookError, IntelError
from huntline.yamlfile import MAX_DEPTH, load_yaml, loader_class, parse_yaml

BOOK = """\
# A valid book, to break one line at a time.
id: 2a8d5e1c-7f3b-4c96-a1e2-6b9c0d4f7e35
title: Possible beaconing
tags: [attack.t1071]
level: medium
window: {last: 24h}
steps:
  - get: conns
    entity: network-traffic
    from: edr
    where: "[network-traffic:dst_port > 0]"
"""
LOADERS = {"libyaml": loader_class(), "python": loader_class(libyaml=False)}


def alias_bomb(aliases: int, levels: int) -> str:
    """'Billion laughs': each level is a list of ``aliases`` aliases of the level before."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * aliases) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * aliases) + "]")
    return "\n".join(lines) + "\n"


def book_with(old: str, new: str) -> str:
    assert old in BOOK
    return BOOK.replace(old, new, 1)


def refusal(text: str, loader: type[Any] | None = None) -> list[str]:
    with pytest.raises(BookError) as caught:
        parse_yaml(text, "x.yaml", BookError, loader_type=loader)
    return [caught.value.message, *caught.value.problems]


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_an_alias_bomb_is_refused_at_once(loader: type[Any]) -> None:
    started = time.process_time()
    assert refusal(alias_bomb(10, 9), loader) == [
        "x.yaml is refused",
        "x.yaml:1 aliases expand too far (more than 1,000 aliases or 10,000 copied values): "
        "a YAML alias bomb?",
    ]
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_a_few_aliases_are_fine(loader: type[Any]) -> None:
    document = parse_yaml(alias_bomb(3, 3), "x.yaml", BookError, loader_type=loader)
    assert document.data["l3"][2][1][0] == ["lol", "lol", "lol"]
    assert document.line(("l3", 2, 1)) == 2  # a copy has the line of what it copies


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_a_recursive_alias_is_refused_at_its_line(loader: type[Any]) -> None:
    assert refusal("id: x\nsteps: &s\n  - get: a\n  - *s\n", loader) == [
        "x.yaml is refused",
        "x.yaml:4 recursive alias *s: it is inside the node &s it refers to",
    ]


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_deep_nesting_is_refused(loader: type[Any]) -> None:
    flow = "title: " + "[" * 200 + "]" * 200 + "\n"
    block = "".join(f"{' ' * level}k{level}:\n" for level in range(200)) + " " * 200 + "k: v\n"
    assert refusal(flow, loader)[1] == f"x.yaml:1 nested deeper than {MAX_DEPTH} levels"
    assert refusal(block, loader)[1] == f"x.yaml:{MAX_DEPTH} nested deeper than {MAX_DEPTH} levels"
    # libyaml scans a flow collection ahead, and stops at its own limit of 1,000 levels first
    assert refusal("a: " + "[" * 1_000 + "]" * 1_000, loader)[1] in {
        f"x.yaml:1 nested deeper than {MAX_DEPTH} levels",
        "x.yaml:1 exceeded maximum nesting depth",
    }
    parse_yaml("a: " + "[" * 60 + "]" * 60, "x.yaml", BookError, loader_type=loader)


def test_every_problem_of_a_file_at_its_line() -> None:
    text = (
        "a: !foo text\n"
        "b: !!int not a number\n"
        "c: " + "9" * 5_000 + "\n"
        "d: !!set {x: null}\n"
        "a: again\n"
        "e: !!python/object:os.system ls\n"
    )
    document = parse_yaml(text, "x.yaml", BookError)
    assert document.problems == [
        "x.yaml:1 a: unknown tag !foo",
        "x.yaml:2 b: !!int: this value cannot be read as an integer",
        "x.yaml:3 c: an integer of 5,000 digits (at most 100)",
        "x.yaml:4 d: unknown tag !!set",
        "x.yaml:5 a: duplicate key 'a'",
        "x.yaml:6 e: unknown tag !!python/object:os.system",
    ]
    assert document.data == {"a": "text", "b": None, "c": None, "d": {"x": None}, "e": "ls"}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (bytes(range(256)), "x.yaml:1 a NUL byte: is it a binary file?"),
        (
            "id: x\ntitle: Possiblé\n".encode("latin-1"),
            "x.yaml:2 byte 0xe9 is not UTF-8 (Latin-1?); save the file as UTF-8",
        ),
        ("id: x\n".encode("utf-16"), "x.yaml:1 it is UTF-16: save it as UTF-8"),
        ("id: x\n".encode("utf-16-le"), "x.yaml:1 it is UTF-16: save it as UTF-8"),
    ],
    ids=["binary", "latin-1", "utf-16", "utf-16 without a BOM"],
)
def test_a_file_that_is_not_utf8_is_named_as_such(tmp_path: Path, raw: bytes, problem: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(raw)
    with pytest.raises(IntelError) as caught:
        load_yaml(path, IntelError, "intel feeds file")
    located = problem.replace("x.yaml", str(path))
    assert str(caught.value) == f"{path} is not UTF-8 text\n  {located}"


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("\ufeffid: é\n".encode())
    assert load_yaml(path, BookError, "hunt book").data == {"id": "é"}


def test_a_book_of_20000_steps_is_refused_quickly(tmp_path: Path) -> None:
    step = '  - get: v{0}\n    entity: process\n    from: edr\n    where: "[process:pid = {0}]"\n'
    path = tmp_path / "big.yaml"
    path.write_text("id: x\ntitle: big\nsteps:\n" + "".join(map(step.format, range(20_000))))
    started = time.process_time()
    with pytest.raises(BookError) as caught:
        load_book(path)
    assert str(caught.value) == (
        f"{path} is refused\n  {path}:4 steps: 20,000 steps (at most 500)\n"
        "  hint: split the book into several books"
    )
    assert time.process_time() - started < 6.0


HOSTILE_BOOKS = {
    "bomb.yaml": alias_bomb(10, 9) + book_with("", ""),
    "recursive.yaml": book_with("tags: [", "tags: &t [*t, "),
    "deep.yaml": book_with("title: Possible", "title: " + "{a: " * 1_000 + "1" + "}" * 1_000),
    "tag.yaml": book_with("title: Possible", "title: !foo Possible"),
    "int-tag.yaml": book_with("title: Possible", "title: !!int Possible"),
    "big-int.yaml": book_with("level: medium", "level: " + "9" * 5_000),
    "window.yaml": book_with("last: 24h", "last: 100000000000000000000000d"),
}


def test_validate_names_each_hostile_book_and_never_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in HOSTILE_BOOKS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "latin1.yaml").write_bytes(book_with("Possible", "Possiblé").encode("latin-1"))
    (tmp_path / "utf16.yaml").write_bytes(BOOK.encode("utf-16"))
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    paths = sorted(str(path) for path in tmp_path.iterdir())
    assert main(["validate", *paths]) == 1
    err = capsys.readouterr().err.replace(f"{tmp_path}/", "")
    assert err == (
        "✗ big-int.yaml: 1 problem\n"
        "  big-int.yaml:5 level: an integer of 5,000 digits (at most 100)\n"
        "✗ binary.yaml is not UTF-8 text\n"
        "  binary.yaml:1 a NUL byte: is it a binary file?\n"
        "✗ bomb.yaml is refused\n"
        "  bomb.yaml:1 aliases expand too far (more than 1,000 aliases or 10,000 copied "
        "values): a YAML alias bomb?\n"
        "✗ deep.yaml is refused\n"
        f"  deep.yaml:3 nested deeper than {MAX_DEPTH} levels\n"
        "✗ int-tag.yaml: 1 problem\n"
        "  int-tag.yaml:3 title: !!int: this value cannot be read as an integer\n"
        "✗ latin1.yaml is not UTF-8 text\n"
        "  latin1.yaml:3 byte 0xe9 is not UTF-8 (Latin-1?); save the file as UTF-8\n"
        "✗ recursive.yaml is refused\n"
        "  recursive.yaml:4 recursive alias *t: it is inside the node &t it refers to\n"
        "✗ tag.yaml: 1 problem\n"
        "  tag.yaml:3 title: unknown tag !foo\n"
        "✗ utf16.yaml is not UTF-8 text\n"
        "  utf16.yaml:1 it is UTF-16: save it as UTF-8\n"
        "✗ window.yaml: 1 problem\n"
        "  window.yaml:6 window.last: duration '100000000000000000000000d' is too long "
        "(at most 36500d)\n"
    )


def test_a_tests_file_with_a_duplicate_key_names_its_line(tmp_path: Path) -> None:
    from huntline.booktest.spec import load_tests

    path = tmp_path / "x.tests.yaml"
    path.write_text("cases:\n  - name: one\n    expect: {alerts: 1}\n    name: two\n")
    with pytest.raises(BookError) as caught:
        load_tests(path)
    assert str(caught.value) == (
        f"{path}: invalid tests file\n  {path}:4 cases[0].name: duplicate key 'name'"
    )


def test_a_sigma_rule_file_goes_through_the_same_limits(tmp_path: Path) -> None:
    from huntline.sigma.backend import HuntlineBackend
    from huntline.sigma.convert import convert_file

    path = tmp_path / "bomb.yml"
    path.write_text(alias_bomb(10, 9) + "---\ntitle: second\n")
    started = time.process_time()
    (result,) = convert_file(path, HuntlineBackend())
    assert result.error is not None
    assert str(result.error) == (
        f"{path}: invalid YAML: line 1: aliases expand too far (more than 1,000 aliases or "
        "10,000 copied values): a YAML alias bomb?"
    )
    assert time.process_time() - started < 1.0


def test_a_read_file_leaves_none_of_its_nodes_behind() -> None:
    """A long-lived worker reads its books again and again: the reader keeps none of the YAML
    nodes (their marks hold the whole text) once the document is built (issue 26, item 1)."""
    import gc

    from yaml.nodes import Node

    def nodes() -> int:
        gc.collect()
        return sum(1 for obj in gc.get_objects() if isinstance(obj, Node))

    parse_yaml(BOOK, "warm.yaml", BookError)
    before = nodes()
    for index in range(3):
        parse_yaml(BOOK, f"book{index}.yaml", BookError)
    assert nodes() == before
