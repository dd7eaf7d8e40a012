"""The hunt book: schema, strict loading and errors that name file, line and field."""

from huntline.book.loader import load_book, parse_book
from huntline.book.model import Alert, ApplyStep, GetStep, HuntBook, Step, Window, parse_duration

__all__ = [
    "Alert",
    "ApplyStep",
    "GetStep",
    "HuntBook",
    "Step",
    "Window",
    "load_book",
    "parse_book",
    "parse_duration",
]
