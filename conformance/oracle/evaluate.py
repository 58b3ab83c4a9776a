"""Evaluate one case with the oracle: inputs built in float64, the program run to its end
(or to the statement the case expects to fail), twice with different step sizes.

The two evaluations differ only in their finite-difference steps, so where a
value came through differences their gap estimates its error, nested levels
included; forward values are identical in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.arrays import build_array
from conformance.model import Case
from conformance.oracle.analysis import read_orders
from conformance.oracle.interpreter import Evaluation, Run
from conformance.oracle.program import flatten, stop_index

EPS = float(np.finfo(np.float64).eps)

# The second evaluation's steps, relative to the first: far from 1 and from 1/2 so that
# the gap measures the truncation and rounding errors rather than cancelling them.
SECOND_STEP = 0.6


def step_size(order: int) -> float:
    """The relative step for a program whose derivatives nest ``order`` deep.

    Richardson-extrapolated central differences have truncation error ~h^4 and,
    nested k deep, rounding error ~eps / h^k: h = eps^(1 / (k + 4)) balances them
    (7e-4 for first derivatives, 2.5e-3 for second, 5.8e-3 for third).
    """
    return float(EPS ** (1.0 / (max(order, 1) + 4)))


@dataclass
class OracleOutcome:
    env: dict[str, Any]
    stopped: tuple[int, str] | None  # steps line and why the oracle stopped there


def _input_dtype(declared: str | None) -> str:
    return declared if declared in ("int64", "bool") else "float64"


def evaluate_case(case: Case, step_scale: float = 1.0, max_runs: int = 400_000) -> OracleOutcome:
    """Run the case's program in the oracle; an error stops it where it happened."""
    statements = flatten(case.program.statements)
    inputs = [
        (spec.name, build_array(spec.value, _input_dtype(spec.dtype)), spec.requires_grad)
        for spec in case.inputs
    ]
    order = read_orders(case.program).max_order
    evaluation = Evaluation(statements, inputs, step_size(order) * step_scale, max_runs)
    run = Run(evaluation)
    stop = stop_index(statements, case.raises.line if case.raises else None)
    for index in range(stop):
        try:
            run.step(index)
        except Exception as exc:
            line = statements[index].statement.line
            reason = str(exc) if isinstance(exc, ValueError | TypeError | IndexError) else ""
            detail = reason or f"{type(exc).__name__}: {exc}"
            return OracleOutcome(run.env, (line, detail))
    return OracleOutcome(run.env, None)
