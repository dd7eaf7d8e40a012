"""What a gate found: per check, what was expected, what was observed, and whether it held.

The result is plain data (pydantic, JSON-safe), so it can go into the run manifest, cross a
Prefect task boundary, and be rendered as the gate's markdown artifact without great_expectations.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from huntline.book.gate_checks import OnFail as OnFail


class CheckResult(BaseModel):
    """One check of a gate, after it ran.

    Attributes:
        check: The check as the book wrote it (``not_null(name, mostly=0.99)``).
        expectation: The great_expectations expectation it ran as.
        passed: Whether it held.
        observed: What was seen, in words (``3 of 64 values null (4.7%)``).
        details: The JSON-safe part of GX's result (counts, a few unexpected values).
    """

    model_config = ConfigDict(frozen=True)

    check: str
    expectation: str
    passed: bool
    observed: str
    details: dict[str, Any] = {}


class GateResult(BaseModel):
    """All the checks of one ``expect`` step on one variable."""

    model_config = ConfigDict(frozen=True)

    variable: str
    step_id: str
    on_fail: OnFail
    rows: int
    checks: list[CheckResult]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.checks if not result.passed]

    @property
    def status(self) -> str:
        """``passed``, ``failed`` (an ``on_fail: fail`` gate) or ``warned``."""
        if self.passed:
            return "passed"
        return "failed" if self.on_fail == "fail" else "warned"

    def summary(self) -> str:
        """One line naming the variable, each failed expectation and what was observed."""
        if self.passed:
            return f"gate {self.step_id} on {self.variable}: {len(self.checks)} check(s) passed"
        failed = "; ".join(f"{result.check}: {result.observed}" for result in self.failures)
        return f"gate {self.step_id} on {self.variable} {self.status}: {failed}"

    def markdown(self) -> str:
        """The gate as a markdown table, for the Prefect artifact."""
        mark = {"passed": "passed ✅", "failed": "FAILED ❌", "warned": "failed, warning ⚠️"}
        lines = [
            f"### Quality gate `{self.step_id}` on `{self.variable}`: {mark[self.status]}",
            "",
            f"{self.rows} rows, {len(self.checks)} checks, on_fail: {self.on_fail}, "
            f"{self.seconds:.2f} s",
            "",
            "| check | expectation | observed | result |",
            "|---|---|---|---|",
        ]
        for result in self.checks:
            cells = [
                f"`{result.check}`",
                f"`{result.expectation}`",
                result.observed,
                "pass" if result.passed else "**FAIL**",
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
