"""pydantic's validation errors in the words of a YAML file's reader: ``unknown key (did you
mean 'where'?)``, ``required but missing``, ``expected one of ...``; used by
:meth:`huntline.yamlfile.YamlDocument.validation_problems`, which adds the file and line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

Location = tuple[int | str, ...]


def model_keys(*models: type[BaseModel]) -> set[str]:
    """Every key the models (and the models their fields hold) accept, for "did you mean"."""
    keys: set[str] = set()
    pending, seen = list(models), set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
            pending += _models_in(info.annotation)
    return keys


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in getattr(annotation, "__args__", ()) for model in _models_in(arg)]


def describe(error: Any, location: Location, known_keys: Iterable[str]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) at ``location``."""
    if error["type"] == "extra_forbidden":
        guesses = difflib.get_close_matches(str(location[-1]), list(known_keys), n=1)
        return "unknown key" + (f" (did you mean {guesses[0]!r}?)" if guesses else "")
    if error["type"] == "missing":
        return "required but missing"
    if error["type"] == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {error['input']!r}"
    return str(error["msg"]).removeprefix("Value error, ")
