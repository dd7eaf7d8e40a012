"""Quality gates: great_expectations checks on the data a hunt runs on.

:mod:`~huntline.book.gate_checks` holds the compact check models a book writes (no GX import),
:mod:`~huntline.quality.expectations` maps them onto GX expectations and runs them,
:mod:`~huntline.quality.gate` runs a gate and enforces its ``on_fail``, and
:mod:`~huntline.quality.result` is what a gate found, as data and as markdown.
"""

from huntline.book.gate_checks import CHECKS, AnyCheck, Check
from huntline.quality.gate import enforce, run_gate
from huntline.quality.result import CheckResult, GateResult, OnFail

__all__ = [
    "CHECKS",
    "AnyCheck",
    "Check",
    "CheckResult",
    "GateResult",
    "OnFail",
    "enforce",
    "run_gate",
]
