"""The one registry idiom: duplicates are errors, unknown names get "did you mean", and plug-ins
come in through real entry points (a distribution written to a temporary folder on sys.path)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from huntline.errors import PluginError
from huntline.registry import Registry
from huntline.schemes import has_scheme, scheme_of, split_scheme


def plugin_distribution(root: Path, group: str, entries: dict[str, str], module: str) -> Path:
    """An installed distribution as pip leaves it: ``*.dist-info`` with ``entry_points.txt``,
    and the plug-in's module beside it."""
    info = root / "huntline_demo_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: huntline-demo-plugin\nVersion: 0.1\n"
    )
    lines = [f"[{group}]", *(f"{name} = {target}" for name, target in entries.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (root / "huntline_demo_plugin.py").write_text(module)
    return root


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("huntline_demo_plugin", None)


def test_a_name_is_taken_once() -> None:
    colours: Registry[str] = Registry("colour")
    colours.add("red", "#f00")
    with pytest.raises(PluginError) as caught:
        colours.add("red", "#e00")
    assert str(caught.value) == (
        "colour 'red' is registered twice\n  hint: give the new one another name"
    )
    assert colours.get("red") == "#f00"


def test_an_unknown_name_says_did_you_mean_and_lists_the_valid_ones() -> None:
    colours: Registry[str] = Registry("colour")
    for name in ("red", "green", "blue"):
        colours.add(name, name)
    with pytest.raises(PluginError) as caught:
        colours.get("gren")
    assert caught.value.message == (
        "unknown colour 'gren' (did you mean 'green'?); known: red, green, blue"
    )
    assert colours.unknown("zzz") == "unknown colour 'zzz'; known: red, green, blue"
    assert colours.find("zzz") is None and "zzz" not in colours and "red" in colours


def test_a_plugin_comes_in_through_its_entry_point_and_loads_only_when_asked(
    on_path: Path,
) -> None:
    plugin_distribution(
        on_path,
        "huntline.test_colours",
        {"teal": "huntline_demo_plugin:TEAL"},
        "TEAL = '#088'\n",
    )
    colours: Registry[str] = Registry("colour", "huntline.test_colours")
    colours.add("red", "#f00")
    assert colours.names() == ("red", "teal")
    assert "huntline_demo_plugin" not in sys.modules, "listing names imports no plug-in"
    assert colours.get("teal") == "#088"
    assert dict(colours.items()) == {"red": "#f00", "teal": "#088"}


def test_a_plugin_may_not_take_a_builtin_name(on_path: Path) -> None:
    plugin_distribution(
        on_path, "huntline.test_colours", {"red": "huntline_demo_plugin:RED"}, "RED = 1\n"
    )
    colours: Registry[str] = Registry("colour", "huntline.test_colours")
    colours.add("red", "#f00")
    with pytest.raises(PluginError) as caught:
        colours.names()
    assert str(caught.value) == (
        "colour 'red' is registered twice (entry point 'huntline_demo_plugin:RED' in group "
        "'huntline.test_colours')\n"
        "  hint: uninstall one of the plug-ins, or rename its entry point"
    )


def test_a_broken_or_wrong_plugin_is_a_clear_error(on_path: Path) -> None:
    plugin_distribution(
        on_path,
        "huntline.test_colours",
        {"gone": "huntline_demo_plugin:MISSING", "odd": "huntline_demo_plugin:ODD"},
        "ODD = 42\n",
    )
    colours: Registry[str] = Registry(
        "colour", "huntline.test_colours", accepts=lambda item: isinstance(item, str)
    )
    with pytest.raises(PluginError) as caught:
        colours.get("gone")
    assert str(caught.value) == (
        "colour 'gone' cannot be loaded from 'huntline_demo_plugin:MISSING': AttributeError: "
        "module 'huntline_demo_plugin' has no attribute 'MISSING'\n"
        "  hint: check the package that declares it in the entry-point group "
        "huntline.test_colours"
    )
    with pytest.raises(PluginError) as caught:
        colours.get("odd")
    assert caught.value.message == (
        "colour 'odd' from 'huntline_demo_plugin:ODD' is not a colour: 42"
    )


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("docker://susp_scoring", ("docker", "susp_scoring")),
        ("  HTTPS://example.org/b.json ", ("https", "example.org/b.json")),
        ("file:///tmp/a://b", ("file", "/tmp/a://b")),
        ("edr", ("", "edr")),
        ("ghcr.io/org/image:1.0", ("", "ghcr.io/org/image:1.0")),
    ],
)
def test_one_scheme_parser(text: str, parts: tuple[str, str]) -> None:
    assert split_scheme(text) == parts
    assert scheme_of(text, "docker") == (parts[0] or "docker")
    assert has_scheme(text) == bool(parts[0])
