"""Adapters with faults of their own (not of the engine), for the tests of verdicts and accounting.

Each is the torch adapter with one fault: a bug in the adapter's code, an
operation that kills or hangs the process, an interrupt, a version that
raises, a backend that can be asked nothing. The tests put this folder on
``sys.path`` and name them ``faulty_backends:Class``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch

from conformance.adapters.torch_backend import TorchBackend
from conformance.capabilities import CAPABILITIES
from conformance.errors import EmulatedError


def _system_exit(x: Any) -> Any:
    raise SystemExit(3)


def _kill(x: Any) -> Any:
    os._exit(7)


def _sleep(x: Any) -> Any:
    time.sleep(30)
    return torch.exp(x)


def _sleep_deaf(x: Any) -> Any:
    """A hang the alarm cannot end, as in native code: SIGALRM is blocked while it sleeps."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(60)
    return torch.exp(x)


def _interrupt(x: Any) -> Any:
    raise KeyboardInterrupt


class TypoInBackward(TorchBackend):
    """backward() has a typo: it raises AttributeError from the adapter's own code."""

    name = "typo-in-backward"
    engine_errors = ()  # nothing declared: the rules on origin and type alone must catch it

    def backward(
        self,
        tensors: Sequence[torch.Tensor],
        grad_tensors: Sequence[torch.Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[torch.Tensor] | None,
    ) -> None:
        torch.autograd.backward(tensors, grad_tensors, retain_graph=self.retain)  # type: ignore[attr-defined]


class RaisesForTheEngine(TorchBackend):
    """grad() raises a RuntimeError of its own before asking the engine anything."""

    name = "raises-for-the-engine"
    engine_errors = ()

    def grad(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        raise RuntimeError("element 0 of tensors does not require grad")


class EmulatesTheEngine(RaisesForTheEngine):
    """The same, but said to be on the engine's behalf: an emulated answer."""

    name = "emulates-the-engine"

    def grad(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        raise EmulatedError("element 0 of tensors does not require grad")


class WrongSignature(TorchBackend):
    """Calls the engine's backward with an argument it does not take."""

    name = "wrong-signature"  # torch's engine_errors include TypeError: it must not matter

    def backward(self, tensors: Any, grad_tensors: Any, *rest: Any) -> None:
        torch.autograd.backward(tensors, grad_tensors, retain_graph=None, gradient=None)  # type: ignore[call-arg]


class ExitsInExp(TorchBackend):
    """exp calls sys.exit: a BaseException, not an engine's answer."""

    name = "exits-in-exp"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {**TorchBackend.OPS, "exp": _system_exit}


class NoIntrospection(TorchBackend):
    """A tape engine without grad_fn and requires_grad introspection (nor retain_grad)."""

    name = "no-introspection"
    capabilities = frozenset(CAPABILITIES) - {"grad-fn", "requires-grad-flag"}


class DetachKeepsHistory(NoIntrospection):
    """The same, with a detach() that returns its input: backward through it must not pass."""

    name = "detach-keeps-history"

    def detach(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor


class AskedNothing(TorchBackend):
    """Declares no capability and supports no operation: no case can apply."""

    name = "asked-nothing"
    capabilities = frozenset()
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {}


class KillsInExp(TorchBackend):
    """exp ends the process at once, as a segfault in native code would."""

    name = "kills-in-exp"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {**TorchBackend.OPS, "exp": _kill}


class HangsInExp(TorchBackend):
    """exp sleeps for 30 s."""

    name = "hangs-in-exp"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {**TorchBackend.OPS, "exp": _sleep}


class HangsDeafInExp(TorchBackend):
    """exp hangs where no signal reaches it; only the timeout's backstop can end it."""

    name = "hangs-deaf-in-exp"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {**TorchBackend.OPS, "exp": _sleep_deaf}


class InterruptedInExp(TorchBackend):
    """exp is interrupted, as by Ctrl-C."""

    name = "interrupted-in-exp"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {**TorchBackend.OPS, "exp": _interrupt}


class VersionRaises(TorchBackend):
    """The version property itself is broken."""

    name = "version-raises"

    @property
    def version(self) -> str:
        raise RuntimeError("no version file")
