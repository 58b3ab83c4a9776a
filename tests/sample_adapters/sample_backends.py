"""Adapters used by the plugin's tests: each differs from the reference in one known way.

They reuse the torch adapter so that each states only its difference; the
tests put this folder on ``sys.path`` and name them ``sample_backends:Class``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from conformance.adapters.torch_backend import TorchBackend
from conformance.backend import Backend

FULL = TorchBackend.capabilities


class WrongMulBackend(TorchBackend):
    """Multiplies by adding: every case that multiplies diverges, the others pass."""

    name = "wrongmul"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {
        **TorchBackend.OPS,
        "mul": operator.add,
    }

    @property
    def version(self) -> str:
        return "9.9"


class NeverAskBackend(TorchBackend):
    """Declares it lacks backward; being asked anyway is a fault of the harness."""

    name = "neverask"
    capabilities = FULL - {"backward"}

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the harness asked for backward(), which this backend lacks")


class HonestBackend(TorchBackend):
    """Declares it lacks backward, and its backward says so with NotSupportedError."""

    name = "honest"
    capabilities = FULL - {"backward"}

    def backward(
        self,
        tensors: Sequence[Any],
        grad_tensors: Sequence[Any] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[Any] | None,
    ) -> None:
        Backend.backward(self, tensors, grad_tensors, retain_graph, create_graph, inputs)


class BrokenClaimBackend(TorchBackend):
    """Declares it lacks backward, but its backward fails some other way: a claim to catch."""

    name = "brokenclaim"
    capabilities = FULL - {"backward"}

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("backward is half-written")


class NoFloat64Backend(TorchBackend):
    name = "nofloat64"
    capabilities = FULL - {"float64"}
