"""Load this image's analytics.py under a unique module name (images do not form a package)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

IMAGE_DIR = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def scoring() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "susp_scoring_analytics", IMAGE_DIR / "analytics.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def golden() -> list[dict[str, object]]:
    return json.loads((DATA / "golden.json").read_text())


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
