"""The registry of step kinds: every kind of step a hunt book can hold.

:data:`KINDS` is the one registry (by keyword; :data:`STEP_KINDS` lists it in order). The YAML
step switch (:data:`Step`), the keys the loader knows, the compile plan, ``huntline compile``'s
lines and the one generic Prefect task are all built from it, so a new kind is one module (a
:class:`~huntline.book.steps.base.StepModel` and its
:class:`~huntline.book.steps.base.StepKind`) plus one registration here. Step kinds take no
entry points: the step switch is a pydantic union built once, when the book model is defined.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, GetCoreSchemaHandler, GetPydanticSchema, Tag
from pydantic_core import CoreSchema

from huntline.book.steps.apply import APPLY, ApplyStep
from huntline.book.steps.base import StepKind, StepModel
from huntline.book.steps.expect import EXPECT, ExpectStep
from huntline.book.steps.filter import FILTER, FilterStep
from huntline.book.steps.get import GET, GetStep
from huntline.registry import Registry

KINDS: Registry[StepKind[Any]] = Registry("step kind")
for _kind in (GET, APPLY, EXPECT, FILTER):
    KINDS.add(_kind.keyword, _kind)

STEP_KINDS: tuple[StepKind[Any], ...] = tuple(kind for _, kind in KINDS.items())
"""Every step kind, in the order error messages list them."""

_BY_MODEL: dict[type[StepModel], StepKind[Any]] = {kind.model: kind for kind in STEP_KINDS}
if len(_BY_MODEL) != len(STEP_KINDS):
    raise RuntimeError("two step kinds share a model")

KEYWORDS: tuple[str, ...] = KINDS.names()


def kind_of(step: StepModel) -> StepKind[Any]:
    """The kind of a validated step."""
    return _BY_MODEL[type(step)]


def _keyword_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((keyword for keyword in KEYWORDS if keyword in value), None)
    kind = _BY_MODEL.get(type(value))
    return kind.keyword if kind else None


def _listing(words: tuple[str, ...]) -> str:
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else list(words))


_TAGGED: Any = Annotated[
    Union[tuple(Annotated[kind.model, Tag(kind.keyword)] for kind in STEP_KINDS)],  # noqa: UP007
    Discriminator(
        _keyword_of,
        custom_error_type="step_kind",
        custom_error_message=f"each step starts with {_listing(tuple(k + ':' for k in KEYWORDS))}",
    ),
]


def _step_schema(source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
    return handler.generate_schema(_TAGGED)


#: One step of a book, validated as the kind whose keyword opens it.
Step = Annotated[StepModel, GetPydanticSchema(_step_schema)]

__all__ = [
    "KEYWORDS",
    "KINDS",
    "STEP_KINDS",
    "ApplyStep",
    "ExpectStep",
    "FilterStep",
    "GetStep",
    "Step",
    "StepKind",
    "StepModel",
    "kind_of",
]
