"""Judge a case's expectations against the oracle: checked, not judged (with why), contradicted.

The expected values in the case file are the authority under test. An element
passes when ``|expected - oracle| <= max(atol + rtol * |expected|, oracle error)``:
the case's tolerance (float64 defaults where it sets none, or its pinned
dtype's), widened only where the oracle's own error estimate is larger. The
estimate is the gap between two evaluations with different steps, times a
safety factor, plus a floor for values that came through differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from conformance.arrays import build_array
from conformance.compare import resolve_tolerance
from conformance.model import EXPECT_NONE, Case, Expectation
from conformance.oracle.analysis import read_orders
from conformance.oracle.evaluate import SECOND_STEP, OracleOutcome, evaluate_case
from conformance.oracle.values import OracleTensor

SAFETY = 10.0  # times the gap between the two evaluations
FLOOR = 1e-9  # relative error assumed of any value that came through differences

TOLERANCE_RULE = (
    "an element passes when |expected - oracle| <= max(atol + rtol * |expected|,"
    f" oracle error); atol and rtol are the case's (else its dtype's defaults, float64's"
    f" when it pins none); the oracle error is {SAFETY:g} x the gap between two evaluations"
    f" with different steps + {FLOOR:g} x max(1, |oracle|) for differentiated values"
)

NOT_JUDGED_KEYS = {
    "dtype": "dtypes follow the engine's type promotion; the oracle computes in float64",
    "grad_fn": "graph history (grad_fn) is tape semantics; the oracle computes values",
    "grad_fn_name": "grad_fn names are torch details; the oracle computes values",
    "requires_grad": "requires_grad flags are tape semantics; the oracle computes values",
    "is_leaf": "is_leaf flags are tape semantics; the oracle computes values",
}
NONE_REASON = "a None result (an unused input, an unset .grad) is tape semantics"
RAISES_REASON = "expected errors are tape semantics; the oracle checks the steps before the error"


class Status(Enum):
    CHECKED = "checked"
    NOT_JUDGED = "not judged"
    CONTRADICTED = "contradicted"
    UNJUDGED_MATH = "math not judged"  # a math case's value the oracle could not judge: a failure


@dataclass(frozen=True)
class Finding:
    status: Status
    case: Case
    label: str  # "y", "x.grad", "y.shape", "(raises)"
    line: int  # YAML line
    detail: str  # the tolerance used, the reason, or the contradiction

    def __str__(self) -> str:
        return f"{self.case.path}:{self.line}: case {self.case.id!r}: {self.label}: {self.detail}"


def _index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else ""


class _CaseJudge:
    def __init__(self, case: Case, first: OracleOutcome, second: OracleOutcome) -> None:
        self.case = case
        self.first = first
        self.second = second
        self.findings: list[Finding] = []

    def add(self, status: Status, label: str, line: int, detail: str) -> None:
        case = self.case
        if status is Status.CONTRADICTED and case.kind != "math" and case.oracle_note:
            status, detail = (
                Status.NOT_JUDGED,
                f"the oracle differs ({detail}); case says: {case.oracle_note}",
            )
        elif status is Status.NOT_JUDGED and case.kind != "math" and case.oracle_note:
            detail = f"{detail}; case says: {case.oracle_note}"
        self.findings.append(Finding(status, case, label, line, detail))

    def unjudged_value(self, label: str, line: int, reason: str) -> None:
        status = Status.UNJUDGED_MATH if self.case.kind == "math" else Status.NOT_JUDGED
        self.add(status, label, line, reason)

    def stopped_reason(self) -> str:
        if self.first.stopped is None:
            return "the oracle has no value for it"
        line, reason = self.first.stopped
        yaml_line = self.case.step_location(line).line
        return f"the oracle stopped at steps line {line} (line {yaml_line}): {reason}"

    def judge(self, expectation: Expectation) -> None:
        name = expectation.variable
        for key in expectation.checked_keys():
            line = expectation.key_lines.get(key, expectation.line)
            if key in NOT_JUDGED_KEYS:
                self.add(Status.NOT_JUDGED, f"{name}.{key}", line, NOT_JUDGED_KEYS[key])
                continue
            label = f"{name}.grad" if key == "grad" else name
            spec = expectation.grad if key == "grad" else expectation.value
            if spec is EXPECT_NONE:
                self.add(Status.NOT_JUDGED, label, line, NONE_REASON)
                continue
            first, second = self.tensors(name, key == "grad")
            if isinstance(first, str):
                self.unjudged_value(label, line, first)
                continue
            assert isinstance(second, OracleTensor)
            if first.unjudged:
                self.unjudged_value(label, line, first.unjudged)
            elif key == "shape":
                self.shape(f"{name}.shape", line, expectation.shape, first)
            else:
                self.compare(label, line, expectation, spec, first, second)

    def tensors(self, name: str, grad: bool) -> tuple[OracleTensor | str, OracleTensor | None]:
        if name not in self.first.env or name not in self.second.env:
            return self.stopped_reason(), None
        first, second = self.first.env[name], self.second.env[name]
        if grad:
            if not isinstance(first, OracleTensor) or not isinstance(second, OracleTensor):
                return f"{name} is not a tensor in the oracle", None
            first, second = first.grad, second.grad
            if first is None or second is None:
                return f"the oracle's {name}.grad is None (no backward reached it)", None
        if not isinstance(first, OracleTensor) or not isinstance(second, OracleTensor):
            what = "None" if first is None else f"a {type(first).__name__}"
            return f"the oracle's value is {what}, not a tensor", None
        return first, second

    def shape(
        self, label: str, line: int, expected: tuple[int, ...] | None, got: OracleTensor
    ) -> None:
        if tuple(got.array.shape) != expected:
            self.add(
                Status.CONTRADICTED,
                label,
                line,
                f"expected {expected}, oracle {tuple(got.array.shape)}",
            )
        else:
            self.add(Status.CHECKED, label, line, f"{expected}")

    def compare(
        self,
        label: str,
        line: int,
        expectation: Expectation,
        spec: Any,
        first: OracleTensor,
        second: OracleTensor,
    ) -> None:
        got = first.array
        boolean = got.dtype == np.bool_
        expected = build_array(spec, "bool" if boolean else "float64")
        if expected.shape != got.shape:
            self.add(
                Status.CONTRADICTED,
                label,
                line,
                f"shape: expected {expected.shape}, oracle {got.shape}",
            )
            return
        if boolean:
            bad_mask = expected != got
            if bad_mask.any():
                index = tuple(int(i) for i in np.argwhere(bad_mask)[0])
                count = int(bad_mask.sum())
                more = f"; {count} of {bad_mask.size} elements differ" if count > 1 else ""
                self.add(
                    Status.CONTRADICTED,
                    f"{label}{_index(index)}",
                    line,
                    f"expected {expected[index]}, oracle {got[index]}{more}",
                )
            else:
                self.add(Status.CHECKED, label, line, "booleans equal")
            return
        a = got.astype(np.float64)
        b = second.array.astype(np.float64)
        rtol, atol = resolve_tolerance(
            self.case.dtype or "float64", self.case.tolerance, expectation.tolerance
        )
        with np.errstate(invalid="ignore", over="ignore"):
            error = SAFETY * np.abs(a - b)
            if first.differentiated or second.differentiated:
                error = error + FLOOR * np.maximum(1.0, np.abs(a))
            error = np.where(np.isfinite(error), error, np.inf)
            finite = np.isfinite(expected) & np.isfinite(a)
            diff = np.where(finite, np.abs(a - expected), 0.0)
            tol = np.maximum(atol + rtol * np.abs(np.where(finite, expected, 0.0)), error)
            same_special = (np.isnan(expected) & np.isnan(a)) | (expected == a)
            bad = np.where(finite, diff > tol, ~same_special)
        worst_error = float(np.max(np.where(np.isfinite(error), error, 0.0))) if a.size else 0.0
        if not bad.any():
            self.add(
                Status.CHECKED,
                label,
                line,
                f"atol {atol:g}, rtol {rtol:g}, oracle error <= {worst_error:.1g}",
            )
            return
        excess = np.where(bad, np.where(finite, diff - tol, np.inf), -np.inf)
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), a.shape))
        count = int(bad.sum())
        more = f"; {count} of {bad.size} elements differ" if count > 1 else ""
        if finite[index]:
            numbers = f" (|diff| {diff[index]:.2g} > tol {tol[index]:.2g})"
        else:
            numbers = " (NaN and infinities compare exactly)"
        self.add(
            Status.CONTRADICTED,
            f"{label}{_index(index)}",
            line,
            f"expected {expected[index]:.6g}, oracle {a[index]:.6g}{numbers}{more}",
        )


def judge_case(case: Case) -> list[Finding]:
    """Every expectation of the case, checked against the oracle or listed with a reason."""
    first = evaluate_case(case)
    differentiates = read_orders(case.program).max_order > 0
    second = evaluate_case(case, SECOND_STEP) if differentiates else first
    judge = _CaseJudge(case, first, second)
    if case.raises is not None:
        judge.add(Status.NOT_JUDGED, "(raises)", case.raises.yaml_line, RAISES_REASON)
    for expectation in case.expect:
        judge.judge(expectation)
    return judge.findings
