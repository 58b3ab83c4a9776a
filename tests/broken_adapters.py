"""Deliberately broken adapters: the reference engine with one rule of autograd broken each.

The spec is only worth something if a wrong engine fails it. Each class here
takes the torch adapter and breaks one documented behaviour; the tests run
the documents' cases on each and check that exactly the cases about that
behaviour fail. Usable from the command line as well:
``pytest --autograd-backend=broken_adapters:OverwritesGrad`` with this folder
on the import path.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from conformance.adapters.torch_backend import TorchBackend
from conformance.errors import NotSupportedError


class OverwritesGrad(TorchBackend):
    """backward() replaces a leaf's .grad instead of adding to it.

    The adapter remembers the leaves it handed out and clears their .grad
    before each backward pass, so every pass starts from None.
    """

    name = "broken-overwrites-grad"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self._leaves: dict[int, weakref.ref[torch.Tensor]] = {}

    def _remember(self, tensor: torch.Tensor) -> torch.Tensor:
        self._leaves[id(tensor)] = weakref.ref(tensor)
        return tensor

    def tensor(self, array: np.ndarray, requires_grad: bool) -> torch.Tensor:
        return self._remember(super().tensor(array, requires_grad))

    def requires_grad_(self, tensor: torch.Tensor, requires_grad: bool) -> torch.Tensor:
        return self._remember(super().requires_grad_(tensor, requires_grad))

    def backward(
        self,
        tensors: Sequence[torch.Tensor],
        grad_tensors: Sequence[torch.Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[torch.Tensor] | None,
    ) -> None:
        for reference in list(self._leaves.values()):
            leaf = reference()
            if leaf is not None and leaf.is_leaf:
                leaf.grad = None
        super().backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


class _RewritesPassFlags(TorchBackend):
    """Passes every grad() and backward() on with retain_graph/create_graph rewritten."""

    def flags(self, retain_graph: bool | None, create_graph: bool) -> tuple[bool | None, bool]:
        return retain_graph, create_graph

    def grad(
        self,
        outputs: Sequence[torch.Tensor],
        inputs: Sequence[torch.Tensor],
        grad_outputs: Sequence[torch.Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        allow_unused: bool,
        *more: Any,
        **named: Any,
    ) -> tuple[torch.Tensor | None, ...]:
        retain_graph, create_graph = self.flags(retain_graph, create_graph)
        return super().grad(
            outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, *more, **named
        )

    def backward(
        self,
        tensors: Sequence[torch.Tensor],
        grad_tensors: Sequence[torch.Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[torch.Tensor] | None,
    ) -> None:
        retain_graph, create_graph = self.flags(retain_graph, create_graph)
        super().backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


class IgnoresCreateGraph(_RewritesPassFlags):
    """grad() and backward() never build a graph of the derivative (create_graph dropped)."""

    name = "broken-ignores-create-graph"

    def flags(self, retain_graph: bool | None, create_graph: bool) -> tuple[bool | None, bool]:
        return retain_graph, False


class GradFnEverywhere(TorchBackend):
    """Reports graph history on every tensor: leaves, detached and no_grad results included."""

    name = "broken-grad-fn-everywhere"

    def has_grad_fn(self, tensor: torch.Tensor) -> bool:
        return True


class NeverFreesGraph(_RewritesPassFlags):
    """Every pass retains the graph, so a second pass through a freed graph does not raise."""

    name = "broken-never-frees-graph"

    def flags(self, retain_graph: bool | None, create_graph: bool) -> tuple[bool | None, bool]:
        return True, create_graph


class NoSine(TorchBackend):
    """An honest engine without sin(): cases using it are skipped, naming the operation."""

    name = "no-sine"

    def op(self, name: str, *args: Any) -> Any:
        if name == "sin":
            raise NotSupportedError("operation 'sin'")
        return super().op(name, *args)


class RaisesEverywhere(TorchBackend):
    """Every entry point raises an ordinary exception: cases fail, the session goes on."""

    name = "broken-raises-everywhere"

    def tensor(self, array: np.ndarray, requires_grad: bool) -> torch.Tensor:
        raise RuntimeError("tensor() is broken")

    def op(self, name: str, *args: Any) -> Any:
        raise RuntimeError(f"{name} is broken")

    def grad(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("grad() is broken")

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("backward() is broken")

    def to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        raise RuntimeError("to_numpy() is broken")


BROKEN = (OverwritesGrad, IgnoresCreateGraph, GradFnEverywhere, NeverFreesGraph)
