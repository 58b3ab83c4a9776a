"""Turn the value specs of case files into numpy arrays.

Inputs and expected values share one notation: a literal (a number or nested
lists, with "nan", "inf" and "-inf" spelled as strings) or a constructor such
as ``{ones: [3, 4]}``, ``{rule: {shape: [3, 4], expr: "i + j"}}`` or
``{random: {shape: [3, 4], seed: 0}}``. Random values come from numpy's
``default_rng(seed)``, so every backend receives the same numbers.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

_SPECIAL = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_INDEX_NAMES = ("i", "j", "k", "l")


class ValueSpecError(ValueError):
    """A value spec that is well-formed by the schema but cannot be built."""


def _literal(value: Any) -> Any:
    if isinstance(value, list):
        return [_literal(item) for item in value]
    if isinstance(value, str):
        return _SPECIAL[value]
    return value


def build_array(spec: Any, dtype: str) -> np.ndarray:
    """Build the array a value spec describes, in ``dtype``."""
    if not isinstance(spec, Mapping):
        array = np.array(_literal(spec), dtype=dtype)
        if array.dtype == object:
            raise ValueSpecError("a literal must be a number or a rectangular nested list")
        return array
    ((kind, args),) = spec.items()
    if kind == "zeros":
        return np.zeros(tuple(args), dtype=dtype)
    if kind == "ones":
        return np.ones(tuple(args), dtype=dtype)
    if kind == "full":
        return np.full(tuple(args["shape"]), _literal(args["fill"]), dtype=dtype)
    if kind == "eye":
        return np.eye(int(args), dtype=dtype)
    if kind == "arange":
        shape = tuple(args["shape"])
        count = int(np.prod(shape))
        start = args.get("start", 0)
        step = args.get("step", 1)
        values = start + step * np.arange(count, dtype=np.float64)
        return np.asarray(values.reshape(shape), dtype=dtype)
    if kind == "rule":
        return _rule(tuple(args["shape"]), str(args["expr"])).astype(dtype)
    if kind == "random":
        rng = np.random.default_rng(int(args["seed"]))
        shape = tuple(args["shape"])
        if args.get("distribution", "uniform") == "normal":
            values = rng.standard_normal(shape) * args.get("high", 1.0) + args.get("low", 0.0)
        else:
            values = rng.uniform(args.get("low", 0.0), args.get("high", 1.0), shape)
        return np.asarray(values).astype(dtype)
    raise ValueSpecError(f"unknown constructor {kind!r}")


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def _rule(shape: tuple[int, ...], expr: str) -> np.ndarray:
    """Evaluate an index rule such as ``i + j`` over a grid: arithmetic only, no eval."""
    if len(shape) > len(_INDEX_NAMES):
        raise ValueSpecError(f"a rule supports at most {len(_INDEX_NAMES)} dims")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueSpecError(f"rule {expr!r}: {exc.msg}") from None
    grids = np.indices(shape, dtype=np.float64) if shape else np.zeros((0,))
    names = {name: grids[axis] for axis, name in enumerate(_INDEX_NAMES[: len(shape)])}

    def visit(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](visit(node.left), visit(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -visit(node.operand)
        allowed = ", ".join(names)
        raise ValueSpecError(
            f"rule {expr!r}: only numbers, {allowed} and + - * / // % ** are allowed"
        )

    grid: np.ndarray = np.broadcast_to(np.asarray(visit(tree), dtype=np.float64), shape).copy()
    return grid
