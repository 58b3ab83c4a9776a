"""The step language's operations on numpy arrays, in float64.

This is the forward semantics of the vocabulary, independent of any autograd
engine: the numerical oracle evaluates case programs with it. Each entry takes
its arguments in the vocabulary's order (conformance.language.vocabulary).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np


def _reduce(function: Callable[..., Any]) -> Callable[..., Any]:
    def reduce(x: np.ndarray, dim: Any, keepdim: bool) -> np.ndarray:
        axis = tuple(dim) if isinstance(dim, (list, tuple)) else dim
        return np.asarray(function(x, axis=axis, keepdims=keepdim))

    return reduce


def _setitem(x: np.ndarray, index: Any, value: Any) -> None:
    x[index] = value


def _transpose(x: np.ndarray, dim0: int, dim1: int) -> np.ndarray:
    return np.swapaxes(x, dim0, dim1)


NUMPY_OPS: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
    "matmul": operator.matmul,
    "neg": operator.neg,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
    "getitem": operator.getitem,
    "setitem": _setitem,
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0.0),
    "abs": np.abs,
    "sqrt": np.sqrt,
    "sum": _reduce(np.sum),
    "mean": _reduce(np.mean),
    "cat": lambda tensors, dim: np.concatenate(tensors, axis=dim),
    "stack": lambda tensors, dim: np.stack(tensors, axis=dim),
    "reshape": lambda x, shape: np.reshape(x, shape),
    "transpose": _transpose,
    "T": lambda x: np.transpose(x),
    "ones_like": np.ones_like,
    "zeros_like": np.zeros_like,
    "full_like": lambda x, fill: np.full_like(x, fill),
}
