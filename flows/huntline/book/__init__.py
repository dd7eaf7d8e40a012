"""The hunt book: schema, strict loading and errors that name file, line and field."""

from huntline.book.fields import WindowSpec
from huntline.book.loader import load_book, parse_book
from huntline.book.model import Alert, HuntBook
from huntline.book.steps import STEP_KINDS, ApplyStep, GetStep, Step, StepKind, StepModel, kind_of
from huntline.window import parse_duration

__all__ = [
    "STEP_KINDS",
    "Alert",
    "ApplyStep",
    "GetStep",
    "HuntBook",
    "Step",
    "StepKind",
    "StepModel",
    "WindowSpec",
    "kind_of",
    "load_book",
    "parse_book",
    "parse_duration",
]
