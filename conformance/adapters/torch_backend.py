"""The PyTorch reference adapter: the model for writing your own.

Each method is one or two lines of torch. To adapt another engine, copy this
file, replace ``torch`` with your engine, and drop from ``capabilities`` what
it does not have.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import numpy as np
import torch

from conformance.backend import Backend
from conformance.capabilities import CAPABILITIES
from conformance.operators import PYTHON_OPERATORS


def _extremum(function: Callable[..., Any]) -> Callable[..., Any]:
    """max/min: a tensor for dim=None, else a plain tuple (values, indices)."""

    def extremum(x: torch.Tensor, dim: Any, keepdim: bool) -> Any:
        if dim is None:
            value = function(x)
            return value.reshape([1] * x.dim()) if keepdim else value
        return tuple(function(x, dim, keepdim))

    return extremum


def _all_dims(function: Callable[..., Any]) -> Callable[..., Any]:
    """amax/amin spell "all dims" as (), the vocabulary as None."""

    def reduce(x: torch.Tensor, dim: Any, keepdim: bool) -> torch.Tensor:
        return function(x, dim=() if dim is None else dim, keepdim=keepdim)  # type: ignore[no-any-return]

    return reduce


def _prod(x: torch.Tensor, dim: Any, keepdim: bool) -> torch.Tensor:
    if dim is None:
        value = torch.prod(x)
        return value.reshape([1] * x.dim()) if keepdim else value
    return torch.prod(x, dim, keepdim=keepdim)


def _embedding(index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.embedding(index, weight)


def _pair(function: Callable[..., Any]) -> Callable[..., Any]:
    """sort and topk: torch's named tuple as the plain tuple (values, indices)."""

    def pair(*args: Any) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = function(*args)
        return values, indices

    return pair


def _argmax_or_min(function: Callable[..., Any]) -> Callable[..., Any]:
    def arg(x: torch.Tensor, dim: Any, keepdim: bool) -> torch.Tensor:
        return function(x, dim=dim, keepdim=keepdim)  # type: ignore[no-any-return]

    return arg


F = torch.nn.functional


class TorchBackend(Backend):
    name = "torch"
    torch_details = True  # the reference: torch's details are its own
    # What torch raises when it rejects a misuse; anything else is this adapter's fault.
    engine_errors = (RuntimeError, TypeError, ValueError, IndexError)
    capabilities = frozenset(CAPABILITIES)
    # The spec pins torch's choice at every kink, tie and singular point
    # (conformance/conventions.py), and an undeclared key follows the pinned
    # value: torch declares none. An engine that differs names the key, e.g.
    # {"tie-break.max": "first-index"}.
    conventions: ClassVar[Mapping[str, str]] = {}

    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {
        **PYTHON_OPERATORS,
        "exp": torch.exp,
        "log": torch.log,
        "sin": torch.sin,
        "cos": torch.cos,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "abs": torch.abs,
        "sqrt": torch.sqrt,
        "sum": lambda x, dim, keepdim: torch.sum(x, dim=dim, keepdim=keepdim),
        "mean": lambda x, dim, keepdim: torch.mean(x, dim=dim, keepdim=keepdim),
        "cat": lambda tensors, dim: torch.cat(tensors, dim=dim),
        "stack": lambda tensors, dim: torch.stack(tensors, dim=dim),
        "reshape": torch.reshape,
        "transpose": torch.transpose,
        "T": lambda x: x.permute(*reversed(range(x.dim()))),
        "ones_like": torch.ones_like,
        "zeros_like": torch.zeros_like,
        "full_like": torch.full_like,
        "sign": torch.sign,
        "square": torch.square,
        "reciprocal": torch.reciprocal,
        "log1p": torch.log1p,
        "expm1": torch.expm1,
        "tan": torch.tan,
        "asin": torch.asin,
        "atan": torch.atan,
        "sinh": torch.sinh,
        "cosh": torch.cosh,
        "floor": torch.floor,
        "round": torch.round,
        "maximum": torch.maximum,
        "minimum": torch.minimum,
        "clamp": lambda x, low, high: torch.clamp(x, min=low, max=high),
        "where": torch.where,
        "max": _extremum(torch.max),
        "min": _extremum(torch.min),
        "amax": _all_dims(torch.amax),
        "amin": _all_dims(torch.amin),
        "prod": _prod,
        "var": lambda x, dim, correction, keepdim: torch.var(
            x, dim=dim, correction=correction, keepdim=keepdim
        ),
        "std": lambda x, dim, correction, keepdim: torch.std(
            x, dim=dim, correction=correction, keepdim=keepdim
        ),
        "norm": lambda x, p, dim, keepdim: torch.norm(x, p=p, dim=dim, keepdim=keepdim),
        "logsumexp": lambda x, dim, keepdim: torch.logsumexp(x, dim, keepdim=keepdim),
        "softmax": lambda x, dim: torch.softmax(x, dim),
        "log_softmax": lambda x, dim: torch.log_softmax(x, dim),
        "gather": torch.gather,
        "index_select": torch.index_select,
        "scatter": torch.scatter,
        "index_add": torch.index_add,
        "masked_fill": torch.masked_fill,
        "embedding": _embedding,
        "view": lambda x, shape: x.view(*shape),
        "expand": lambda x, sizes: x.expand(*sizes),
        "unsqueeze": torch.unsqueeze,
        "squeeze": lambda x, dim: torch.squeeze(x) if dim is None else torch.squeeze(x, dim),
        "permute": lambda x, dims: x.permute(*dims),
        "flatten": torch.flatten,
        "clone": torch.clone,
        "double": lambda x: x.double(),
        "float": lambda x: x.float(),
        "long": lambda x: x.long(),
        "ceil": torch.ceil,
        "trunc": torch.trunc,
        "log2": torch.log2,
        "log10": torch.log10,
        "exp2": torch.exp2,
        "erf": torch.erf,
        "atan2": torch.atan2,
        "softplus": lambda x, beta, threshold: F.softplus(x, beta=beta, threshold=threshold),
        "gelu": lambda x, approximate: F.gelu(x, approximate=approximate),
        "silu": F.silu,
        "leaky_relu": lambda x, slope: F.leaky_relu(x, negative_slope=slope),
        "elu": lambda x, alpha: F.elu(x, alpha=alpha),
        "logsigmoid": F.logsigmoid,
        "cumsum": lambda x, dim: torch.cumsum(x, dim),
        "cumprod": lambda x, dim: torch.cumprod(x, dim),
        "argmax": _argmax_or_min(torch.argmax),
        "argmin": _argmax_or_min(torch.argmin),
        "sort": _pair(lambda x, dim, descending: torch.sort(x, dim=dim, descending=descending)),
        "topk": _pair(torch.topk),
        "masked_select": torch.masked_select,
        "dot": torch.dot,
        "mm": torch.mm,
        "bmm": torch.bmm,
        "mv": torch.mv,
        "outer": torch.outer,
        "trace": torch.trace,
        "diag": torch.diag,
        "tril": torch.tril,
        "triu": torch.triu,
        "einsum": lambda equation, operands: torch.einsum(equation, *operands),
        "flip": torch.flip,
        "roll": lambda x, shifts, dims: torch.roll(x, shifts, dims),
        "repeat": lambda x, sizes: x.repeat(*sizes),
        "t": torch.t,
        "narrow": torch.narrow,
        "unbind": torch.unbind,
        "split": torch.split,
        "chunk": torch.chunk,
        "add_": lambda x, other: x.add_(other),
        "sub_": lambda x, other: x.sub_(other),
        "mul_": lambda x, other: x.mul_(other),
        "div_": lambda x, other: x.div_(other),
        "exp_": lambda x: x.exp_(),
        "zero_": lambda x: x.zero_(),
        "fill_": lambda x, value: x.fill_(value),
        "clamp_": lambda x, low, high: x.clamp_(min=low, max=high),
        "copy_": lambda x, src: x.copy_(src),
    }

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self._device = torch.device(device)
        torch.empty(0, device=self._device)  # fail now, not in every case, if the device is absent

    @property
    def version(self) -> str:
        return str(torch.__version__)

    def tensor(self, array: np.ndarray, requires_grad: bool) -> torch.Tensor:
        return torch.from_numpy(np.array(array)).to(self._device).requires_grad_(requires_grad)

    def to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        return tensor.detach().cpu().resolve_conj().numpy()

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor)

    def grad(
        self,
        outputs: Sequence[torch.Tensor],
        inputs: Sequence[torch.Tensor],
        grad_outputs: Sequence[torch.Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        allow_unused: bool,
        materialize_grads: bool = False,
    ) -> tuple[torch.Tensor | None, ...]:
        return torch.autograd.grad(
            outputs,
            inputs,
            grad_outputs=grad_outputs,
            retain_graph=retain_graph,
            create_graph=create_graph,
            allow_unused=allow_unused,
            materialize_grads=materialize_grads,
        )

    def backward(
        self,
        tensors: Sequence[torch.Tensor],
        grad_tensors: Sequence[torch.Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[torch.Tensor] | None,
    ) -> None:
        with warnings.catch_warnings():
            # backward(create_graph=True) warns of a reference cycle: torch's advice, not a result.
            warnings.simplefilter("ignore", UserWarning)
            torch.autograd.backward(
                tensors,
                grad_tensors,
                retain_graph=retain_graph,
                create_graph=create_graph,
                inputs=inputs,
            )

    def get_grad(self, tensor: torch.Tensor) -> torch.Tensor | None:
        with warnings.catch_warnings():
            # Reading a non-leaf's .grad warns; the case checks the value (None) itself.
            warnings.simplefilter("ignore", UserWarning)
            return tensor.grad

    def zero_grad(self, tensor: torch.Tensor) -> None:
        if tensor.grad is None:
            raise AttributeError("tensor.grad is None; there is nothing to zero")
        tensor.grad.zero_()

    def clear_grad(self, tensor: torch.Tensor) -> None:
        tensor.grad = None

    def detach(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.detach()

    def requires_grad_(self, tensor: torch.Tensor, requires_grad: bool) -> torch.Tensor:
        return tensor.requires_grad_(requires_grad)

    def retain_grad(self, tensor: torch.Tensor) -> None:
        tensor.retain_grad()

    def grad_mode(self, mode: str) -> AbstractContextManager[None]:
        modes: dict[str, Callable[[], AbstractContextManager[Any]]] = {
            "no_grad": torch.no_grad,
            "enable_grad": torch.enable_grad,
            "inference_mode": torch.inference_mode,
        }
        return modes[mode]()

    def register_hook(
        self, tensor: torch.Tensor, hook: Callable[[torch.Tensor], torch.Tensor | None]
    ) -> Any:
        return tensor.register_hook(hook)  # type: ignore[no-untyped-call]

    def remove_hook(self, handle: Any) -> None:
        handle.remove()

    def requires_grad(self, tensor: torch.Tensor) -> bool:
        return bool(tensor.requires_grad)

    def is_leaf(self, tensor: torch.Tensor) -> bool:
        return bool(tensor.is_leaf)

    def has_grad_fn(self, tensor: torch.Tensor) -> bool:
        return tensor.grad_fn is not None

    def grad_fn_name(self, tensor: torch.Tensor) -> str | None:
        return None if tensor.grad_fn is None else type(tensor.grad_fn).__name__
