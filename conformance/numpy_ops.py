"""The step language's operations on numpy arrays.

This is the forward semantics of the vocabulary, independent of any autograd
engine: the numerical oracle evaluates case programs with it, and the tests
check it against torch as an independent implementation. Each entry takes its
arguments in the vocabulary's order (conformance.language.vocabulary) and
returns numpy arrays; ``max``/``min`` with a dim return a tuple (values,
indices). Floating results keep the input's dtype (float64 in the oracle);
the casts keep their meaning (``float`` gives float32). The creation entries
take the creation's arguments, ``requires_grad`` included (and ignored), and
give float64 (or boolean for a mask literal); the runner casts them to the
case's dtype. In-place entries write into their first argument and return it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.operators import PYTHON_OPERATORS

Array = np.ndarray
Dim = int | tuple[int, ...] | list[int] | None


def _axis(dim: Dim) -> int | tuple[int, ...] | None:
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def _reduce(function: Callable[..., Any]) -> Callable[..., Any]:
    def reduce(x: Array, dim: Dim, keepdim: bool) -> Array:
        return np.asarray(function(x, axis=_axis(dim), keepdims=keepdim))

    return reduce


def _extremum(pick: Callable[..., Any], arg: Callable[..., Any]) -> Callable[..., Any]:
    """max/min: the element for dim=None, else (values, indices) along one dim."""

    def extremum(x: Array, dim: Dim, keepdim: bool) -> Array | tuple[Array, Array]:
        x = np.asarray(x)
        if dim is None:
            return np.asarray(pick(x, keepdims=keepdim))
        if not isinstance(dim, int):
            raise TypeError("max/min take one int dim (use amax/amin for several)")
        indices = np.asarray(arg(x, axis=dim, keepdims=keepdim)).astype(np.int64)
        values = np.take_along_axis(x, indices if keepdim else np.expand_dims(indices, dim), dim)
        return (values if keepdim else np.squeeze(values, dim)), indices

    return extremum


def _prod(x: Array, dim: Dim, keepdim: bool) -> Array:
    if dim is not None and not isinstance(dim, int):
        raise TypeError("prod takes one int dim or None")
    return np.asarray(np.prod(x, axis=dim, keepdims=keepdim))


def _var(x: Array, dim: Dim, correction: float, keepdim: bool) -> Array:
    return np.asarray(np.var(x, axis=_axis(dim), ddof=correction, keepdims=keepdim))


def _std(x: Array, dim: Dim, correction: float, keepdim: bool) -> Array:
    return np.asarray(np.std(x, axis=_axis(dim), ddof=correction, keepdims=keepdim))


def _norm(x: Array, p: float, dim: Dim, keepdim: bool) -> Array:
    axis = _axis(dim)
    magnitude = np.abs(x)
    if p == np.inf:
        return np.asarray(np.max(magnitude, axis=axis, keepdims=keepdim))
    if p == -np.inf:
        return np.asarray(np.min(magnitude, axis=axis, keepdims=keepdim))
    if p == 0:
        return np.asarray(np.sum(magnitude != 0, axis=axis, keepdims=keepdim), dtype=x.dtype)
    total = np.sum(magnitude**p, axis=axis, keepdims=keepdim)
    return np.asarray(total ** (1.0 / p))


def _logsumexp(x: Array, dim: Dim, keepdim: bool) -> Array:
    axis = _axis(dim)
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    total = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return np.asarray(total if keepdim else np.squeeze(total, axis=axis))


def _softmax(x: Array, dim: int) -> Array:
    shifted = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return np.asarray(shifted / np.sum(shifted, axis=dim, keepdims=True))


def _log_softmax(x: Array, dim: int) -> Array:
    return np.asarray(x - _logsumexp(x, dim, True))


def _clamp(x: Array, low: Any, high: Any) -> Array:
    result = np.asarray(x)
    if low is not None:
        result = np.maximum(result, low)
    if high is not None:
        result = np.minimum(result, high)
    return np.asarray(result, dtype=np.result_type(x))


def _grid(index: Array, dim: int) -> list[Any]:
    """Index arrays addressing input[..., index, ...] for each position of index."""
    grid: list[Any] = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return grid


def _gather(x: Array, dim: int, index: Array) -> Array:
    return np.asarray(x[tuple(_grid(np.asarray(index), dim % x.ndim))])


def _index_select(x: Array, dim: int, index: Array) -> Array:
    return np.take(x, np.asarray(index), axis=dim)


def _scatter(x: Array, dim: int, index: Array, src: Any) -> Array:
    index = np.asarray(index)
    out = np.array(x, copy=True)
    if np.ndim(src) == 0:
        values = np.full(index.shape, src, dtype=out.dtype)
    else:
        values = np.asarray(src)[tuple(slice(0, size) for size in index.shape)]
    out[tuple(_grid(index, dim % x.ndim))] = values
    return out


def _index_add(x: Array, dim: int, index: Array, source: Array) -> Array:
    out = np.array(x, copy=True)
    moved = np.moveaxis(out, dim, 0)
    np.add.at(moved, np.asarray(index), np.moveaxis(np.asarray(source), dim, 0))
    return out


def _masked_fill(x: Array, mask: Array, value: Any) -> Array:
    return np.asarray(np.where(mask, value, x), dtype=np.result_type(x))


def _embedding(index: Array, weight: Array) -> Array:
    return np.asarray(weight[np.asarray(index)])


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (list, tuple)):
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            return tuple(int(size) for size in shape[0])
        return tuple(int(size) for size in shape)
    return (int(shape),)


def _expand(x: Array, sizes: tuple[int, ...]) -> Array:
    target = _shape(sizes)
    offset = len(target) - x.ndim
    if offset < 0 or -1 in target[:offset]:
        raise ValueError(f"cannot expand shape {x.shape} to {target}")
    resolved = tuple(x.shape[i - offset] if size == -1 else size for i, size in enumerate(target))
    return np.broadcast_to(x, resolved)


def _squeeze(x: Array, dim: Dim) -> Array:
    if dim is None:
        return np.squeeze(x)
    dims = dim if isinstance(dim, (list, tuple)) else (dim,)
    ones = tuple(d % max(x.ndim, 1) for d in dims if x.ndim and x.shape[d] == 1)
    return np.squeeze(x, axis=ones) if ones else x


def _flatten(x: Array, start_dim: int, end_dim: int) -> Array:
    if x.ndim == 0:
        return np.reshape(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return np.reshape(x, (*x.shape[:start], -1, *x.shape[end + 1 :]))


def _float_like(x: Array, values: Any) -> Array:
    """A float result in x's floating dtype (float64 for integer x), as torch keeps it."""
    dtype = x.dtype if np.asarray(x).dtype.kind in "fc" else np.float64
    return np.asarray(values, dtype=dtype)


_erf_scalar = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x: Array) -> Array:
    return _float_like(np.asarray(x), _erf_scalar(np.asarray(x, dtype=np.float64)))


def _softplus(x: Array, beta: float, threshold: float) -> Array:
    scaled = beta * x
    soft = np.log1p(np.exp(np.minimum(scaled, threshold))) / beta
    return _float_like(x, np.where(scaled > threshold, x, soft))


def _gelu(x: Array, approximate: str) -> Array:
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return _float_like(x, 0.5 * x * (1.0 + np.tanh(inner)))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
    return _float_like(x, 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))))


def _logsigmoid(x: Array) -> Array:
    return _float_like(x, np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x))))


def _arg_extremum(arg: Callable[..., Any]) -> Callable[..., Any]:
    def extremum(x: Array, dim: Dim, keepdim: bool) -> Array:
        x = np.asarray(x)
        if dim is None:
            index = np.asarray(arg(x), dtype=np.int64)
            return index.reshape((1,) * x.ndim) if keepdim else index
        if not isinstance(dim, int):
            raise TypeError("argmax/argmin take one int dim or None")
        return np.asarray(arg(x, axis=dim, keepdims=keepdim), dtype=np.int64)

    return extremum


def _sort(x: Array, dim: int, descending: bool) -> tuple[Array, Array]:
    x = np.asarray(x)
    if x.ndim == 0:
        return x.copy(), np.zeros((), dtype=np.int64)
    key = -x if descending else x
    indices = np.argsort(key, axis=dim, kind="stable").astype(np.int64)
    return np.take_along_axis(x, indices, dim), indices


def _topk(x: Array, k: int, dim: int, largest: bool, sorted: bool) -> tuple[Array, Array]:
    values, indices = _sort(x, dim, largest)
    keep = [slice(None)] * values.ndim
    keep[dim] = slice(0, k)
    return values[tuple(keep)], indices[tuple(keep)]


def _masked_select(x: Array, mask: Array) -> Array:
    values, where = np.broadcast_arrays(np.asarray(x), np.asarray(mask, dtype=bool))
    return np.asarray(values[where])


def _matmul(ndims: tuple[int, int]) -> Callable[..., Any]:
    """mm, bmm and mv: matmul without its broadcasting, for the dims each one takes."""

    def product(x: Array, other: Array) -> Array:
        if (np.ndim(x), np.ndim(other)) != ndims:
            raise ValueError(
                f"expected tensors of {ndims} dims, got {np.ndim(x)}, {np.ndim(other)}"
            )
        return np.asarray(np.matmul(x, other))

    return product


def _diag(x: Array, diagonal: int) -> Array:
    if np.ndim(x) not in (1, 2):
        raise ValueError("diag takes a 1-d or 2-d tensor")
    return np.array(np.diag(x, diagonal))


def _roll(x: Array, shifts: Any, dims: Any) -> Array:
    if dims is None:
        return np.roll(x.reshape(-1), shifts).reshape(x.shape)
    return np.roll(x, shifts, axis=dims)


def _repeat(x: Array, sizes: Any) -> Array:
    reps = _shape(sizes)
    if len(reps) < x.ndim:
        raise ValueError("repeat: the number of sizes cannot be smaller than the number of dims")
    return np.tile(x, reps)


def _t(x: Array) -> Array:
    if x.ndim > 2:
        raise ValueError("t() takes a tensor of at most 2 dims")
    return np.transpose(x)


def _narrow(x: Array, dim: int, start: int, length: int) -> Array:
    dim %= x.ndim
    start %= x.shape[dim]
    if length < 0 or start + length > x.shape[dim]:
        raise IndexError(f"narrow: {start} + {length} exceeds dim {dim} of size {x.shape[dim]}")
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, start + length)
    return x[tuple(index)]


def _pieces(x: Array, sizes: list[int], dim: int) -> tuple[Array, ...]:
    dim %= x.ndim
    if sum(sizes) != x.shape[dim]:
        raise ValueError(f"split sizes {sizes} do not add up to dim {dim} of size {x.shape[dim]}")
    pieces = []
    start = 0
    for size in sizes:
        index = [slice(None)] * x.ndim
        index[dim] = slice(start, start + size)
        pieces.append(x[tuple(index)])
        start += size
    return tuple(pieces)


def _split(x: Array, split_size_or_sections: Any, dim: int) -> tuple[Array, ...]:
    if isinstance(split_size_or_sections, (list, tuple)):
        return _pieces(x, [int(size) for size in split_size_or_sections], dim)
    size, total = int(split_size_or_sections), x.shape[dim]
    sizes = [min(size, total - start) for start in range(0, total, size)] or [0]
    return _pieces(x, sizes, dim)


def _chunk(x: Array, chunks: int, dim: int) -> tuple[Array, ...]:
    total = x.shape[dim]
    return _split(x, max(1, -(-total // chunks)), dim)


def _unbind(x: Array, dim: int) -> tuple[Array, ...]:
    dim %= x.ndim
    return tuple(
        x[(slice(None),) * dim + (i,)]  # views, as torch's
        for i in range(x.shape[dim])
    )


def _arange(start: float, end: float | None, step: float, requires_grad: bool) -> Array:
    if end is None:
        start, end = 0, start
    return np.arange(start, end, step, dtype=np.float64)


def _inplace(function: Callable[..., Any]) -> Callable[..., Any]:
    def apply(x: Array, *args: Any) -> Array:
        x[...] = function(x, *args)
        return x

    return apply


def _tensor(data: Any, requires_grad: bool) -> Array:
    array = np.array(data)
    return array if array.dtype == np.bool_ else array.astype(np.float64)


NUMPY_OPS: dict[str, Callable[..., Any]] = {
    **PYTHON_OPERATORS,
    # Elementwise
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0.0),
    "abs": np.abs,
    "sqrt": np.sqrt,
    "sign": np.sign,
    "square": np.square,
    "reciprocal": np.reciprocal,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "tan": np.tan,
    "asin": np.arcsin,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "floor": np.floor,
    "round": np.round,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "clamp": _clamp,
    "where": np.where,
    "ceil": np.ceil,
    "trunc": np.trunc,
    "log2": np.log2,
    "log10": np.log10,
    "exp2": np.exp2,
    "erf": _erf,
    "atan2": np.arctan2,
    # Activations
    "softplus": _softplus,
    "gelu": _gelu,
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "leaky_relu": lambda x, slope: np.where(x > 0, x, slope * x).astype(x.dtype),
    "elu": lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))).astype(
        x.dtype
    ),
    "logsigmoid": _logsigmoid,
    # Scans, sorting and selection
    "cumsum": lambda x, dim: np.cumsum(x, axis=dim),
    "cumprod": lambda x, dim: np.cumprod(x, axis=dim),
    "argmax": _arg_extremum(np.argmax),
    "argmin": _arg_extremum(np.argmin),
    "sort": _sort,
    "topk": _topk,
    "masked_select": _masked_select,
    # Linear algebra
    "dot": lambda x, other: np.asarray(np.dot(x, other)),
    "mm": _matmul((2, 2)),
    "bmm": _matmul((3, 3)),
    "mv": _matmul((2, 1)),
    "outer": np.outer,
    "trace": lambda x: np.asarray(np.trace(x)),
    "diag": _diag,
    "tril": lambda x, diagonal: np.tril(x, diagonal),
    "triu": lambda x, diagonal: np.triu(x, diagonal),
    "einsum": lambda equation, operands: np.asarray(np.einsum(equation, *operands)),
    # Reductions
    "sum": _reduce(np.sum),
    "mean": _reduce(np.mean),
    "max": _extremum(np.max, np.argmax),
    "min": _extremum(np.min, np.argmin),
    "amax": _reduce(np.max),
    "amin": _reduce(np.min),
    "prod": _prod,
    "var": _var,
    "std": _std,
    "norm": _norm,
    "logsumexp": _logsumexp,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    # Indexing
    "gather": _gather,
    "index_select": _index_select,
    "scatter": _scatter,
    "index_add": _index_add,
    "masked_fill": _masked_fill,
    "embedding": _embedding,
    # Shapes and views
    "cat": lambda tensors, dim: np.concatenate(tensors, axis=dim),
    "stack": lambda tensors, dim: np.stack(tensors, axis=dim),
    "reshape": lambda x, shape: np.reshape(x, _shape(shape)),
    "view": lambda x, shape: np.reshape(x, _shape(shape)),
    "expand": _expand,
    "unsqueeze": np.expand_dims,
    "squeeze": _squeeze,
    "permute": lambda x, dims: np.transpose(x, _shape(dims)),
    "flatten": _flatten,
    "transpose": lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
    "T": lambda x: np.transpose(x),
    "clone": lambda x: np.array(x, copy=True),
    "flip": lambda x, dims: np.flip(x, axis=_shape(dims)).copy(),
    "roll": _roll,
    "repeat": _repeat,
    "t": _t,
    "narrow": _narrow,
    "unbind": _unbind,
    "split": _split,
    "chunk": _chunk,
    # Dtype
    "double": lambda x: np.asarray(x, dtype=np.float64).copy(),
    "float": lambda x: np.asarray(x, dtype=np.float32).copy(),
    "long": lambda x: np.trunc(x).astype(np.int64),
    # Constants
    "ones_like": np.ones_like,
    "zeros_like": np.zeros_like,
    "full_like": lambda x, fill: np.full_like(x, fill),
    "tensor": _tensor,
    "ones": lambda shape, requires_grad: np.ones(_shape(shape)),
    "zeros": lambda shape, requires_grad: np.zeros(_shape(shape)),
    "full": lambda shape, fill_value, requires_grad: np.full(_shape(shape), float(fill_value)),
    "arange": _arange,
    "eye": lambda n, requires_grad: np.eye(n),
    # In-place
    "add_": _inplace(operator.add),
    "sub_": _inplace(operator.sub),
    "mul_": _inplace(operator.mul),
    "div_": _inplace(operator.truediv),
    "exp_": _inplace(np.exp),
    "zero_": _inplace(np.zeros_like),
    "fill_": _inplace(lambda x, value: value),
    "clamp_": _inplace(_clamp),
    "copy_": _inplace(lambda x, src: src),
}
