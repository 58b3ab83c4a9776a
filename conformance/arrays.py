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

from conformance.limits import (
    EXPRESSION_DEPTH,
    RULE_CHARS,
    TENSOR_ELEMENTS,
    LimitExceeded,
    literal_elements,
    shape_elements,
)

_SPECIAL = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_INDEX_NAMES = ("i", "j", "k", "l")
# A rule is evaluated over this many elements at a time, so that a deep
# expression holds a few small intermediate arrays, never several full ones.
_RULE_CHUNK = 1 << 16


class ValueSpecError(ValueError):
    """A value spec that is well-formed by the schema but cannot be built."""


def _literal(value: Any) -> Any:
    if isinstance(value, list):
        return [_literal(item) for item in value]
    if isinstance(value, str):
        if value not in _SPECIAL:
            raise ValueSpecError(f"{value!r} is not a number (NaN and infinities: nan, inf, -inf)")
        return _SPECIAL[value]
    return value


def _shape(value: Any) -> tuple[int, ...]:
    """A shape from YAML; the schema lets 3.0 through as an integer, so it is accepted as 3."""
    sizes = value if isinstance(value, list) else [value]
    shape = []
    for size in sizes:
        whole = isinstance(size, int) or (isinstance(size, float) and size.is_integer())
        if isinstance(size, bool) or not whole or size < 0:
            # Negative sizes too: two of them would multiply to a positive count.
            raise ValueSpecError(f"the shape {value!r} is not a list of whole numbers >= 0")
        shape.append(int(size))
    return tuple(shape)


def _eye_size(value: Any) -> int:
    if isinstance(value, list):
        raise ValueSpecError(f"eye takes one whole number, not {value!r}")
    (n,) = _shape(value)
    return n


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, str) and value in _SPECIAL)


def invalid_literal_part(value: Any) -> Any | None:
    """None when ``value`` is a literal by the schema; else its first offending item, as deep.

    The schema's own check of a literal costs a JSON Schema validation per
    element; this one is a plain walk, so the loader can spare the schema the
    long literals and show it, for a wrong one, only the part that is wrong:
    ``[[1, 2], [3, "x"]]`` gives ``[["x"]]``.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in reversed(item))
        elif not _is_scalar(item):
            for _ in range(depth):
                item = [item]
            return item
    return None


def spec_elements(spec: Any) -> float:
    """Elements of the array a value spec describes, from its shape alone (nothing is built)."""
    if not isinstance(spec, Mapping):
        return literal_elements(spec)
    if len(spec) != 1:
        raise ValueSpecError("a value constructor is a mapping of exactly one key")
    ((kind, args),) = spec.items()
    if kind in ("zeros", "ones"):
        return shape_elements(_shape(args))
    if kind == "eye":
        n = _eye_size(args)
        return shape_elements((n, n))
    if kind in ("full", "arange", "rule", "random"):
        if not isinstance(args, Mapping) or "shape" not in args:
            raise ValueSpecError(f"{kind} needs a shape")
        return shape_elements(_shape(args["shape"]))
    raise ValueSpecError(f"unknown constructor {kind!r}")


def build_array(spec: Any, dtype: str) -> np.ndarray:
    """Build the array a value spec describes, in ``dtype``.

    The number of elements is checked against the limit before anything is
    allocated (LimitExceeded); a spec that cannot be built is a ValueSpecError.
    """
    TENSOR_ELEMENTS.check(spec_elements(spec), "this value")
    try:
        with np.errstate(all="ignore"):
            return _build(spec, dtype)
    except (TypeError, ValueError, OverflowError, KeyError, AttributeError, IndexError) as exc:
        if isinstance(exc, ValueSpecError):
            raise
        raise ValueSpecError(str(exc) or type(exc).__name__) from None


def _build(spec: Any, dtype: str) -> np.ndarray:
    if not isinstance(spec, Mapping):
        array = np.array(_literal(spec), dtype=dtype)
        if array.dtype == object:
            raise ValueSpecError("a literal must be a number or a rectangular nested list")
        return array
    ((kind, args),) = spec.items()
    if kind == "zeros":
        return np.zeros(_shape(args), dtype=dtype)
    if kind == "ones":
        return np.ones(_shape(args), dtype=dtype)
    if kind == "full":
        return np.full(_shape(args["shape"]), _literal(args["fill"]), dtype=dtype)
    if kind == "eye":
        return np.eye(_eye_size(args), dtype=dtype)
    if kind == "arange":
        shape = _shape(args["shape"])
        count = int(np.prod(shape))
        start = args.get("start", 0)
        step = args.get("step", 1)
        values = start + step * np.arange(count, dtype=np.float64)
        return np.asarray(values.reshape(shape), dtype=dtype)
    if kind == "rule":
        return _rule(_shape(args["shape"]), str(args["expr"])).astype(dtype)
    if kind == "random":
        rng = np.random.default_rng(int(args["seed"]))
        shape = _shape(args["shape"])
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


def _shown(expr: str) -> str:
    return repr(expr if len(expr) <= 60 else expr[:57] + "...")


def _parse_rule(expr: str, names: tuple[str, ...]) -> ast.expr:
    """Parse a rule and check it is arithmetic on numbers and ``names``, within the limits."""
    try:
        RULE_CHARS.check(len(expr), "this rule")
    except LimitExceeded as exc:
        raise ValueSpecError(str(exc)) from None
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueSpecError(f"rule {_shown(expr)}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        # Python's parser gives up on deep nesting with these, before allocating much.
        raise ValueSpecError(f"rule {_shown(expr)}: nested too deeply") from None
    allowed = ", ".join(names)
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    limit = EXPRESSION_DEPTH.value()
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            over = LimitExceeded(EXPRESSION_DEPTH, depth, limit, "this rule")
            raise ValueSpecError(f"rule {_shown(expr)}: {over}")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            stack.append((node.operand, depth + 1))
        elif not (
            (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)))
            or (isinstance(node, ast.Name) and node.id in names)
        ):
            raise ValueSpecError(
                f"rule {_shown(expr)}: only numbers, {allowed} and + - * / // % ** are allowed"
            )
    return tree.body


def _rule(shape: tuple[int, ...], expr: str) -> np.ndarray:
    """Evaluate an index rule such as ``i + j`` over a grid: arithmetic only, no eval.

    Arithmetic is float64 with every floating-point fault an error (a division
    by zero, an overflow such as ``10 ** 400``, an invalid result such as
    ``0 / 0``): a rule that does not give a finite number at every index is a
    mistake in the case, and NaN or infinities are spelled as literals.
    """
    if len(shape) > len(_INDEX_NAMES):
        raise ValueSpecError(f"a rule supports at most {len(_INDEX_NAMES)} dims")
    names = _INDEX_NAMES[: len(shape)]
    body = _parse_rule(expr, names)
    count = int(shape_elements(shape))
    out = np.empty(count, dtype=np.float64)
    try:
        with np.errstate(all="raise", under="ignore"):
            for start in range(0, count, _RULE_CHUNK):
                flat = np.arange(start, min(start + _RULE_CHUNK, count))
                grids = np.unravel_index(flat, shape) if shape else ()
                values = dict(zip(names, (grid.astype(np.float64) for grid in grids), strict=True))
                out[start : start + len(flat)] = _evaluate(body, values)
    except (FloatingPointError, OverflowError, ZeroDivisionError) as exc:
        raise ValueSpecError(
            f"rule {_shown(expr)} does not give a finite number at every index ({exc})"
        ) from None
    return out.reshape(shape)


def _evaluate(node: ast.expr, names: Mapping[str, np.ndarray]) -> Any:
    """One checked rule on one chunk of indices; the depth is bounded by _parse_rule."""
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, (int, float))
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, names), _evaluate(node.right, names))
    assert isinstance(node, ast.UnaryOp)
    operand = _evaluate(node.operand, names)
    return -operand if isinstance(node.op, ast.USub) else operand
