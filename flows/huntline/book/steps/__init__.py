"""The registry of step kinds: every kind of step a hunt book can hold.

:data:`STEP_KINDS` is the one list. The YAML step switch (:data:`Step`), the keys the loader
knows, the compile plan, ``huntline compile``'s lines and the one generic Prefect task are all
built from it, so a new kind is one module (a :class:`~huntline.book.steps.base.StepModel` and
its :class:`~huntline.book.steps.base.StepKind`) plus one line here.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, GetCoreSchemaHandler, GetPydanticSchema, Tag
from pydantic_core import CoreSchema

from huntline.book.steps.apply import APPLY, ApplyStep
from huntline.book.steps.base import StepKind, StepModel
from huntline.book.steps.expect import EXPECT, ExpectStep
from huntline.book.steps.get import GET, GetStep

STEP_KINDS: tuple[StepKind[Any], ...] = (GET, APPLY, EXPECT)
"""Every step kind, in the order error messages list them."""

_BY_KEYWORD: dict[str, StepKind[Any]] = {kind.keyword: kind for kind in STEP_KINDS}
_BY_MODEL: dict[type[StepModel], StepKind[Any]] = {kind.model: kind for kind in STEP_KINDS}
if len(_BY_KEYWORD) != len(STEP_KINDS) or len(_BY_MODEL) != len(STEP_KINDS):
    raise RuntimeError("two step kinds claim the same keyword or model")

KEYWORDS: tuple[str, ...] = tuple(_BY_KEYWORD)


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
    "STEP_KINDS",
    "ApplyStep",
    "ExpectStep",
    "GetStep",
    "Step",
    "StepKind",
    "StepModel",
    "kind_of",
]
