"""Package attributes imported on first use (PEP 562), so importing one small module of a
package does not import the whole stage.

``from huntline.intel.paths import DEFAULT_FEEDS_FILE`` runs ``huntline/intel/__init__.py``
first; if that imported every submodule, building the CLI's parser would import Prefect (through
the intel events) and pandas (through the alert ledger), which was most of the 2.5 s that
``huntline --help`` took. A package lists its public names and their modules instead,
imports them under ``TYPE_CHECKING`` for the type checker, and forwards ``__getattr__`` here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any


def lazy_attribute(package: str, exports: Mapping[str, str], name: str) -> Any:
    """The attribute ``name`` of ``package``, imported from the module ``exports`` names for it
    and kept on the package, so the next access is a plain lookup."""
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    setattr(sys.modules[package], name, value)
    return value


class LazyModule:
    """A module imported on first attribute access: ``pd = LazyModule("pandas")``.

    For modules that parse cheaply but evaluate with pandas or pyarrow (the condition language):
    loading a book parses its conditions and never evaluates one, so it never pays ~0.5-1 s for
    pandas. Import the real module under ``TYPE_CHECKING`` for the type checker.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)
