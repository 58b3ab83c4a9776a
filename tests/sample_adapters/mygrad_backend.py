"""An adapter for mygrad, a numpy-based tape autograd engine: a real engine other than torch.

Written from the README and docs/writing-an-adapter.md alone; the project's
tests run the spec on it to show that divergences of a real engine are
caught, and that what it lacks is skipped by name.

mygrad facts that shape this adapter (from its installed source, 2.5.0):
- a "constant" tensor is torch's requires_grad=False; integer/bool tensors must be constant;
- Tensor.backward() nulls the .grad of every tensor in the graph first, so .grad does
  not accumulate across passes, and then clears the graph (always; no retain_graph);
- every tensor in the graph (non-leaves too) gets a .grad, a numpy array;
- no create_graph / higher-order derivatives, no functional grad(), no hooks,
  no enable_grad (only the no_autodiff context), no inference mode, no detach()
  (a constant tensor over the same data plays that role).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import mygrad as mg
import mygrad.nnet as nn
import numpy as np

from conformance.backend import Backend
from conformance.errors import EmulatedError, NotSupportedError
from conformance.operators import PYTHON_OPERATORS


def _const(value: Any) -> mg.Tensor:
    return mg.tensor(value, constant=True)


def _cmp(function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], mg.Tensor]:
    # mygrad comparisons give numpy bool arrays; the runner wants engine tensors
    return lambda a, b: _const(np.asarray(function(a, b)))


def _array(value: Any) -> np.ndarray:
    """A gradient weight as numpy, whether it came as a mygrad tensor or an array."""
    return np.asarray(getattr(value, "data", value))


def _mask(cond: Any) -> Any:
    return cond.data if isinstance(cond, mg.Tensor) else cond


def _extremum(reduce: Callable[..., Any], arg: Callable[..., Any]) -> Callable[..., Any]:
    def extremum(x: mg.Tensor, dim: Any, keepdim: bool) -> Any:
        if dim is None:
            return reduce(x, keepdims=keepdim)
        values = reduce(x, axis=dim, keepdims=keepdim)
        indices = np.asarray(arg(x, axis=dim))
        if keepdim:
            indices = np.expand_dims(indices, dim)
        return (values, _const(indices.astype(np.int64)))

    return extremum


def _squeeze(x: mg.Tensor, dim: Any) -> mg.Tensor:
    if dim is None:
        return mg.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d % x.ndim for d in dims if x.shape[d] == 1) if x.ndim else ()
    return mg.squeeze(x, axis=dims) if dims else x


def _flatten(x: mg.Tensor, start: int, end: int) -> mg.Tensor:
    if x.ndim == 0:
        return mg.reshape(x, (1,))
    start %= x.ndim
    end %= x.ndim
    shape = (*x.shape[:start], -1, *x.shape[end + 1 :])
    return mg.reshape(x, shape)


def _expand(x: mg.Tensor, sizes: Sequence[int]) -> mg.Tensor:
    lead = len(sizes) - x.ndim
    shape = tuple((x.shape[i - lead] if s == -1 else s) for i, s in enumerate(sizes))
    return mg.broadcast_to(x, shape)


def _norm(x: mg.Tensor, p: Any, dim: Any, keepdim: bool) -> mg.Tensor:
    if dim is None:
        if keepdim:
            raise NotSupportedError("norm over all dims with keepdim")
        return mg.linalg.norm(mg.reshape(x, (-1,)), ord=p)
    if not isinstance(dim, int):
        raise NotSupportedError("vector norm over a tuple of dims (mygrad: a matrix norm)")
    return mg.linalg.norm(x, ord=p, axis=dim, keepdims=keepdim)


def _index_select(x: mg.Tensor, dim: int, index: Any) -> mg.Tensor:
    return x[(slice(None),) * (dim % x.ndim) + (index,)]


def _inplace(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(x: mg.Tensor, other: Any) -> mg.Tensor:
        result = op(x, other)  # mygrad's __iadd__ etc. mutate x and return it
        assert result is x
        return x

    return apply


def _fill(x: mg.Tensor, value: Any) -> mg.Tensor:
    x[...] = value
    return x


class MygradBackend(Backend):
    name = "mygrad"
    # Only what mygrad has. Missing: higher-order (no create_graph), graph-freeing
    # (a second pass over a cleared graph silently does nothing instead of raising),
    # inference-mode, hooks.
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {
            "backward",
            "grad-accumulation",  # .grad can be read, zeroed and cleared (it does not accumulate)
            "grad-fn",  # Tensor.creator
            "grad-mode",  # mg.no_autodiff (enable_grad raises NotSupportedError)
            "detach",
            "in-place",
            "retain-grad",  # a no-op: mygrad keeps every tensor's .grad
            "requires-grad-flag",  # not Tensor.constant (requires_grad_ unsupported)
            "float64",
            # grad() is built on backward(); it raises the tape's refusals itself (EmulatedError)
            "graph-membership",
        }
    )
    # mygrad's own answers where several are legitimate, per operation family (seen in
    # a first run with none declared); every other convention case runs and is checked.
    conventions: ClassVar[Mapping[str, str]] = {
        "subgradient.clamp": "zero-at-bounds",
        "subgradient.norm": "nan",
        "tie-break.max": "full-to-each",
        "tie-break.maximum": "second-argument",
        "nan-propagation.relu": "blocks",
        "singular-point.std": "nan",
    }

    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {
        **PYTHON_OPERATORS,
        "lt": _cmp(operator.lt),
        "le": _cmp(operator.le),
        "gt": _cmp(operator.gt),
        "ge": _cmp(operator.ge),
        "eq": _cmp(operator.eq),
        "ne": _cmp(operator.ne),
        "exp": mg.exp,
        "log": mg.log,
        "sin": mg.sin,
        "cos": mg.cos,
        "tanh": mg.tanh,
        "sigmoid": nn.sigmoid,
        "relu": nn.relu,
        "abs": mg.absolute,
        "sqrt": mg.sqrt,
        "sign": mg.sign,  # mygrad refuses it on non-constant tensors
        "square": mg.square,
        "reciprocal": mg.reciprocal,
        "log1p": mg.log1p,
        "expm1": mg.expm1,
        "tan": mg.tan,
        "asin": mg.arcsin,
        "atan": mg.arctan,
        "sinh": mg.sinh,
        "cosh": mg.cosh,
        "floor": mg.floor,  # mygrad refuses it on non-constant tensors
        # round: mygrad has none
        "maximum": mg.maximum,
        "minimum": mg.minimum,
        "clamp": lambda x, low, high: mg.clip(x, low, high),
        # mg.where recurses forever on a Tensor condition (a mygrad bug): pass the mask's array
        "where": lambda cond, a, b: mg.where(_mask(cond), a, b),
        "sum": lambda x, dim, keepdim: mg.sum(x, axis=dim, keepdims=keepdim),
        "mean": lambda x, dim, keepdim: mg.mean(x, axis=dim, keepdims=keepdim),
        "max": _extremum(mg.max, mg.argmax),
        "min": _extremum(mg.min, mg.argmin),
        "amax": lambda x, dim, keepdim: mg.max(x, axis=dim, keepdims=keepdim),
        "amin": lambda x, dim, keepdim: mg.min(x, axis=dim, keepdims=keepdim),
        "prod": lambda x, dim, keepdim: mg.prod(x, axis=dim, keepdims=keepdim),
        "var": lambda x, dim, correction, keepdim: mg.var(
            x, axis=dim, ddof=correction, keepdims=keepdim
        ),
        "std": lambda x, dim, correction, keepdim: mg.std(
            x, axis=dim, ddof=correction, keepdims=keepdim
        ),
        "norm": _norm,
        # logsumexp: mygrad has none
        "softmax": lambda x, dim: nn.softmax(x, axis=dim),
        "log_softmax": lambda x, dim: nn.logsoftmax(x, axis=dim),
        "index_select": _index_select,
        "embedding": lambda index, weight: weight[index],
        "masked_fill": lambda x, mask, value: mg.where(_mask(mask), value, x),
        # gather, scatter, index_add: not written for this trial
        "cat": lambda tensors, dim: mg.concatenate(tensors, axis=dim),
        "stack": lambda tensors, dim: mg.stack(tensors, axis=dim),
        "reshape": lambda x, shape: mg.reshape(x, shape),
        "view": lambda x, shape: mg.reshape(x, shape),
        "expand": _expand,
        "unsqueeze": lambda x, dim: mg.expand_dims(x, dim),
        "squeeze": _squeeze,
        "permute": lambda x, dims: mg.transpose(x, dims),
        "flatten": _flatten,
        "transpose": lambda x, d0, d1: mg.swapaxes(x, d0, d1),
        "T": lambda x: mg.transpose(x),
        "clone": mg.positive,  # Tensor.copy() drops the graph; +x is a differentiable copy
        "double": lambda x: x.astype(np.float64),
        "float": lambda x: x.astype(np.float32),
        "long": lambda x: _const(x.data.astype(np.int64)),
        "ones_like": lambda x: mg.ones_like(x, constant=True),
        "zeros_like": lambda x: mg.zeros_like(x, constant=True),
        "full_like": lambda x, v: mg.full_like(x, v, constant=True),
        "add_": _inplace(operator.iadd),
        "sub_": _inplace(operator.isub),
        "mul_": _inplace(operator.imul),
        "div_": _inplace(operator.itruediv),
        "exp_": lambda x: mg.exp(x, out=x),
        "zero_": lambda x: _fill(x, 0.0),
        "fill_": _fill,
        "clamp_": lambda x, low, high: mg.clip(x, low, high, out=x),
        "copy_": _fill,
    }

    @property
    def version(self) -> str:
        return str(mg.__version__)

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        if device != "cpu":
            raise ValueError(f"mygrad runs on numpy: device {device!r} does not exist")

    # data
    def tensor(self, array: np.ndarray, requires_grad: bool) -> mg.Tensor:
        return mg.tensor(np.array(array), constant=not requires_grad)

    def to_numpy(self, tensor: mg.Tensor) -> np.ndarray:
        return np.array(tensor.data)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, mg.Tensor)

    # autograd
    @staticmethod
    def _terminal(outputs: Sequence[mg.Tensor], weights: Sequence[Any] | None) -> mg.Tensor:
        """One scalar whose gradient is the sum of the vector-Jacobian products."""
        terms = []
        for i, out in enumerate(outputs):
            w = None if weights is None else weights[i]
            if w is None:
                if out.ndim != 0:
                    raise EmulatedError("grad can be implicitly created only for scalar outputs")
                terms.append(out)
            else:
                terms.append(mg.sum(out * _const(_array(w))))
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def grad(
        self,
        outputs: Sequence[mg.Tensor],
        inputs: Sequence[mg.Tensor],
        grad_outputs: Sequence[Any] | None,
        retain_graph: bool | None,
        create_graph: bool,
        allow_unused: bool,
        materialize_grads: bool = False,
    ) -> tuple[Any, ...]:
        # mygrad has no functional grad(): emulated with backward() on a weighted sum.
        if create_graph:
            raise NotSupportedError("create_graph (mygrad has no higher-order derivatives)")
        if retain_graph:
            raise NotSupportedError("retain_graph (mygrad always clears the graph after backward)")
        for x in inputs:
            if x.constant:
                raise EmulatedError("One of the differentiated Tensors does not require grad")
            x.null_grad()
        if len(outputs) == 1 and grad_outputs is not None and grad_outputs[0] is not None:
            w = grad_outputs[0]
            outputs[0].backward(_array(w))
        else:
            self._terminal(outputs, grad_outputs).backward()
        results: list[Any] = []
        for x in inputs:
            g = x.grad
            if g is None:
                if materialize_grads:
                    results.append(_const(np.zeros_like(x.data)))
                    continue
                if not allow_unused:
                    raise EmulatedError("a differentiated tensor was not used in the graph")
                results.append(None)
            else:
                results.append(_const(np.array(g)))
        return tuple(results)

    def backward(
        self,
        tensors: Sequence[mg.Tensor],
        grad_tensors: Sequence[Any] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[mg.Tensor] | None,
    ) -> None:
        if create_graph:
            raise NotSupportedError("create_graph (mygrad has no higher-order derivatives)")
        if retain_graph:
            raise NotSupportedError("retain_graph (mygrad always clears the graph after backward)")
        if inputs is not None:
            raise NotSupportedError("backward(inputs=...)")
        if len(tensors) == 1:
            w = None if grad_tensors is None else grad_tensors[0]
            # mygrad's own rule: a non-scalar without a gradient is summed (torch raises)
            tensors[0].backward(None if w is None else _array(w))
        else:
            terms = [
                mg.sum(t)
                if (grad_tensors is None or grad_tensors[i] is None)
                else mg.sum(
                    t * _const(np.asarray(getattr(grad_tensors[i], "data", grad_tensors[i])))
                )
                for i, t in enumerate(tensors)
            ]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            total.backward()

    def get_grad(self, tensor: mg.Tensor) -> mg.Tensor | None:
        g = tensor.grad
        # A copy: wrapping the array itself lets mygrad's memory guard lock it as soon
        # as the wrapper enters an operation, and x.grad.zero_() then fails.
        return None if g is None else mg.Tensor(g, constant=True, copy=True)

    def zero_grad(self, tensor: mg.Tensor) -> None:
        if tensor.grad is None:
            raise AttributeError("tensor.grad is None; there is nothing to zero")
        tensor.grad[...] = 0

    def clear_grad(self, tensor: mg.Tensor) -> None:
        tensor.null_grad()

    def detach(self, tensor: mg.Tensor) -> mg.Tensor:
        return mg.Tensor(tensor.data, constant=True, copy=False)

    def requires_grad_(self, tensor: mg.Tensor, requires_grad: bool) -> mg.Tensor:
        raise NotSupportedError("requires_grad_() (mygrad's constant flag is fixed at creation)")

    def retain_grad(self, tensor: mg.Tensor) -> None:
        pass  # mygrad keeps the .grad of every tensor in the graph anyway

    def grad_mode(self, mode: str) -> Any:
        if mode == "no_grad":
            return mg.no_autodiff
        raise NotSupportedError(f"{mode}() (mygrad has only no_autodiff)")

    def requires_grad(self, tensor: mg.Tensor) -> bool:
        return not tensor.constant

    def is_leaf(self, tensor: mg.Tensor) -> bool:
        return tensor.creator is None

    def has_grad_fn(self, tensor: mg.Tensor) -> bool:
        return tensor.creator is not None

    def grad_fn_name(self, tensor: mg.Tensor) -> str | None:
        return None if tensor.creator is None else type(tensor.creator).__name__
