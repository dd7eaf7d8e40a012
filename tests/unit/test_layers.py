"""The package's layers: every import of flows/huntline points down, never up.

    commands (cli, booktest) -> prefect -> run (steps, compile, schedule, ...) -> stages
    (fetch, analytics, quality, alert, intel, sigma) -> book -> storage -> foundation

A module may import its own layer and the layers below it. So the book knows nothing of
running ("book imports no stage"), storage knows no stage, and only ``huntline.prefect`` imports
Prefect ("stages import no Prefect"): the hunt logic runs, and is tested, without it. Every
import counts (module level, in a function, under ``TYPE_CHECKING``), as in
``test_import_cycles.py``, whose graph this reuses. A new top-level module must be placed in a
layer here: the test fails until it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

from test_import_cycles import PACKAGE, import_graph

LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "foundation",
        frozenset(
            {
                "errors",
                "window",
                "expressions",
                "linear_regex",
                "networks",
                "schemes",
                "registry",
                "lazy",
                "processes",
                "scratch",
                "yamlfile",
                "yamlmodel",
                "expressions_batch",
                "coroutines",
                "secret_store",
            }
        ),
    ),
    ("storage", frozenset({"storage", "tables"})),
    ("book", frozenset({"book"})),
    ("stages", frozenset({"fetch", "analytics", "quality", "alert", "intel", "sigma", "patterns"})),
    (
        "run",
        frozenset(
            {
                "steps",
                "compile",
                "schedule",
                "manifest",
                "run_history",
                "attack",
                "debris",
                "replay",
                "packs",
            }
        ),
    ),
    ("prefect", frozenset({"prefect"})),
    ("commands", frozenset({"booktest", "cli"})),
)
"""The layers, lowest first; each names the top-level modules and packages of huntline in it."""

LEVEL = {name: index for index, (_, names) in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """``huntline.fetch.sources.bundle`` -> ``fetch``."""
    return module.split(".")[1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a higher layer than its own, as ``a (layer) -> b (layer)``."""
    found = []
    for module, targets in sorted(graph.items()):
        if "." not in module:
            continue
        for target in sorted(t for t in targets if "." in t):
            low, high = LEVEL[_top(module)], LEVEL[_top(target)]
            if high > low:
                found.append(f"{module} ({LAYERS[low][0]}) -> {target} ({LAYERS[high][0]})")
    return found


def prefect_importers(root: Path) -> list[str]:
    """The modules outside ``huntline.prefect`` that import Prefect itself."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "prefect":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(name == "prefect" or name.startswith("prefect.") for name in names):
                found.append(f"{relative}:{node.lineno}")
    return found


def test_every_module_is_in_a_layer() -> None:
    graph = import_graph(PACKAGE)
    unplaced = sorted({_top(name) for name in graph if "." in name} - set(LEVEL))
    assert unplaced == [], "place these in LAYERS of tests/unit/test_layers.py"


def test_no_module_imports_a_layer_above_its_own() -> None:
    """Among others: the book imports no stage, storage imports no stage."""
    assert upward_imports(import_graph(PACKAGE)) == []


def test_only_the_prefect_layer_imports_prefect() -> None:
    assert prefect_importers(PACKAGE) == []


def test_the_checks_find_what_they_guard(tmp_path: Path) -> None:
    package = tmp_path / "huntline"
    (package / "book").mkdir(parents=True)
    (package / "fetch").mkdir()
    for init in ("__init__.py", "book/__init__.py", "fetch/__init__.py"):
        (package / init).write_text("")
    (package / "fetch" / "pages.py").write_text("X = 1\n")
    (package / "book" / "model.py").write_text(
        "def f():\n    from huntline.fetch.pages import X\n    import prefect.flows\n"
    )
    assert upward_imports(import_graph(package)) == [
        "huntline.book.model (book) -> huntline.fetch.pages (stages)"
    ]
    assert prefect_importers(package) == ["book/model.py:3"]
