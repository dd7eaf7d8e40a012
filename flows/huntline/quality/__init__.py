"""Quality gates: great_expectations checks on the data a hunt runs on.

:mod:`~huntline.book.gate_checks` holds the compact check models a book writes (no GX import),
:mod:`~huntline.quality.expectations` maps them onto GX expectations and runs them,
:mod:`~huntline.quality.gate` runs a gate and enforces its ``on_fail``, and
:mod:`~huntline.quality.result` is what a gate found, as data and as markdown.
"""

from typing import TYPE_CHECKING, Any

from huntline.lazy import lazy_attribute

if TYPE_CHECKING:
    from huntline.book.gate_checks import CHECKS, AnyCheck, Check
    from huntline.quality.gate import enforce, run_gate
    from huntline.quality.result import CheckResult, GateResult, OnFail

# Imported on first use (huntline.lazy): importing one submodule must not import the stage.
_EXPORTS = {
    "CHECKS": "huntline.book.gate_checks",
    "AnyCheck": "huntline.book.gate_checks",
    "Check": "huntline.book.gate_checks",
    "enforce": "huntline.quality.gate",
    "run_gate": "huntline.quality.gate",
    "CheckResult": "huntline.quality.result",
    "GateResult": "huntline.quality.result",
    "OnFail": "huntline.quality.result",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


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
