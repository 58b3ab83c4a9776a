"""The numerical oracle: an independent float64 evaluator of case programs.

Forward values come from numpy (``conformance.numpy_ops``); first, second and
third derivatives, vector-Jacobian products and accumulated ``.grad`` values
come from central finite differences with Richardson extrapolation, nested for
higher orders. It imports no autograd engine, so it can check the spec's
expected values without trusting any implementation of the thing under test.
"""

from conformance.oracle.analysis import Orders, read_orders
from conformance.oracle.evaluate import OracleOutcome, evaluate_case, step_size
from conformance.oracle.judge import TOLERANCE_RULE, Finding, Status, judge_case
from conformance.oracle.values import OracleTensor

__all__ = [
    "TOLERANCE_RULE",
    "Finding",
    "OracleOutcome",
    "OracleTensor",
    "Orders",
    "Status",
    "evaluate_case",
    "judge_case",
    "read_orders",
    "step_size",
]
