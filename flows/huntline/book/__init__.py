"""The hunt book: schema, strict loading and errors that name file, line and field."""

from huntline.book.loader import load_book, parse_book
from huntline.book.model import (
    Alert,
    ApplyStep,
    GetStep,
    HuntBook,
    Step,
    WindowSpec,
    parse_duration,
)

__all__ = [
    "Alert",
    "ApplyStep",
    "GetStep",
    "HuntBook",
    "Step",
    "WindowSpec",
    "load_book",
    "parse_book",
    "parse_duration",
]
