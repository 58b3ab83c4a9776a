"""The contract between the runner and an autograd engine.

An adapter is a subclass of :class:`Backend`. It converts between numpy and
its own tensors, computes the operations of the step language (``OPS``), and
exposes the engine's autograd: ``grad``, ``backward``, ``.grad`` and the
tape's introspection. Anything the engine lacks raises
:class:`~conformance.errors.NotSupportedError`, which skips the case with the
reason; the ``capabilities`` set says up front what the engine has, so whole
groups of cases are skipped without being run.

The contract is versioned with the case schema; ``docs/writing-an-adapter.md``
explains each method and which cases exercise it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import numpy as np

from conformance.capabilities import CAPABILITIES
from conformance.conventions import CONVENTIONS, FAMILIES
from conformance.errors import NotSupportedError

Tensor = Any  # the engine's own tensor type


class Backend(ABC):
    """Base class of backend adapters; see docs/writing-an-adapter.md."""

    #: Short name shown in headers and reports, e.g. "torch".
    name: ClassVar[str] = "unnamed"
    #: Capabilities from conformance.capabilities.CAPABILITIES the engine has.
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: Conventions the engine follows where several are legitimate, e.g.
    #: {"subgradient": "torch"}; a case pinning another value is skipped.
    conventions: ClassVar[Mapping[str, str]] = {}
    #: Whether the engine promises torch's own details too: exception classes
    #: and messages, grad_fn names, torch's accidents (torch-detail cases). A
    #: PyTorch device backend may; then the spec checks them unless the run
    #: asks for the portable spec only (--autograd-portable).
    torch_details: ClassVar[bool] = False
    #: The exception classes the engine raises when it rejects a misuse. When
    #: set, an error of any other class is an adapter error, never the answer
    #: to an expected error; it also admits a class Python uses for
    #: programming errors (AttributeError, ...) if the engine really raises it.
    #: See conformance.faults for how an adapter's own errors are told apart.
    engine_errors: ClassVar[tuple[type[Exception], ...]] = ()
    #: The step language's operations: name -> callable(*args) in the
    #: argument order of the vocabulary (docs/vocabulary.md).
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {}

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    @property
    def version(self) -> str:
        """The engine's version, for report headers."""
        return "unknown"

    # Data ---------------------------------------------------------------
    @abstractmethod
    def tensor(self, array: np.ndarray, requires_grad: bool) -> Tensor:
        """A new leaf tensor holding ``array`` (its dtype kept) on ``self.device``."""

    @abstractmethod
    def to_numpy(self, tensor: Tensor) -> np.ndarray:
        """The values of a tensor, without touching its graph."""

    @abstractmethod
    def is_tensor(self, value: Any) -> bool:
        """Whether a value is one of the engine's tensors."""

    def op(self, name: str, *args: Any) -> Tensor:
        """Compute one operation of the vocabulary; NotSupportedError if absent."""
        function = self.OPS.get(name)
        if function is None:
            raise NotSupportedError(f"operation {name!r}")
        return function(*args)

    # Autograd -----------------------------------------------------------
    @abstractmethod
    def grad(
        self,
        outputs: Sequence[Tensor],
        inputs: Sequence[Tensor],
        grad_outputs: Sequence[Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        allow_unused: bool,
        materialize_grads: bool = False,
    ) -> tuple[Tensor | None, ...]:
        """Sum of vector-Jacobian products of outputs w.r.t. each input; no accumulation.

        ``materialize_grads=True`` asks for zeros instead of None for an input
        the outputs do not depend on. The runner passes it only when a case
        sets it, so an adapter without the parameter still runs every other case.
        """

    def backward(
        self,
        tensors: Sequence[Tensor],
        grad_tensors: Sequence[Tensor | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        inputs: Sequence[Tensor] | None,
    ) -> None:
        """Accumulate vector-Jacobian products into the leaves' ``.grad``."""
        raise NotSupportedError("backward()")

    def get_grad(self, tensor: Tensor) -> Tensor | None:
        """``tensor.grad``: the accumulated gradient, or None."""
        raise NotSupportedError(".grad")

    def zero_grad(self, tensor: Tensor) -> None:
        """``tensor.grad.zero_()``."""
        raise NotSupportedError(".grad.zero_()")

    def clear_grad(self, tensor: Tensor) -> None:
        """``tensor.grad = None``."""
        raise NotSupportedError(".grad = None")

    def detach(self, tensor: Tensor) -> Tensor:
        """The same values with no graph history."""
        raise NotSupportedError("detach()")

    def requires_grad_(self, tensor: Tensor, requires_grad: bool) -> Tensor:
        """Set requires_grad on a leaf in place and return it."""
        raise NotSupportedError("requires_grad_()")

    def retain_grad(self, tensor: Tensor) -> None:
        """Make a non-leaf keep its ``.grad`` after backward."""
        raise NotSupportedError("retain_grad()")

    def grad_mode(self, mode: str) -> AbstractContextManager[None]:
        """A context for a ``with`` block: mode is "no_grad", "enable_grad" or "inference_mode".

        ``with set_grad_enabled(False):`` arrives as "no_grad" and
        ``set_grad_enabled(True)`` as "enable_grad" (its argument is a constant).
        """
        raise NotSupportedError(f"{mode}()")

    def register_hook(self, tensor: Tensor, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook`` with the gradient w.r.t. ``tensor`` whenever one is computed.

        A non-None result replaces the gradient. ``hook`` is a plain Python
        callable the runner builds from the case's lambda; it computes with
        this backend. Returns a handle for :meth:`remove_hook`.
        """
        raise NotSupportedError("register_hook()")

    def remove_hook(self, handle: Any) -> None:
        """Unregister the hook behind a handle from :meth:`register_hook`."""
        raise NotSupportedError("removing a hook")

    # Introspection ------------------------------------------------------
    def requires_grad(self, tensor: Tensor) -> bool:
        raise NotSupportedError("requires_grad")

    def is_leaf(self, tensor: Tensor) -> bool:
        raise NotSupportedError("is_leaf")

    def has_grad_fn(self, tensor: Tensor) -> bool:
        """Whether the tensor carries graph history."""
        raise NotSupportedError("grad_fn")

    def grad_fn_name(self, tensor: Tensor) -> str | None:
        """The engine's name for the node that made the tensor (strict mode only)."""
        raise NotSupportedError("grad_fn name")


def engine_version(backend: Backend) -> str:
    """The adapter's ``version``, or why it could not be read: a header must not crash a run."""
    try:
        return str(backend.version)
    except Exception as exc:
        return f"unknown (the adapter's version raised {type(exc).__name__}: {exc})"


def check_capabilities(backend: type[Backend]) -> None:
    """Reject capabilities and conventions outside the closed vocabularies.

    A typo in either would otherwise skip cases silently.
    """
    for error_class in backend.engine_errors:
        if (
            not isinstance(error_class, type)
            or not issubclass(error_class, Exception)
            or error_class is Exception
        ):
            raise ValueError(
                f"backend {backend.name!r}: engine_errors lists {error_class!r}; it takes"
                " the engine's own exception classes (subclasses of Exception, not Exception)"
            )
    unknown = set(backend.capabilities) - set(CAPABILITIES)
    if unknown:
        raise ValueError(
            f"backend {backend.name!r} declares unknown capabilities {sorted(unknown)};"
            f" known: {', '.join(CAPABILITIES)}"
        )
    # A key names one operation family's convention; a family name (subgradient)
    # declares every key of that family the adapter does not name one by one.
    unknown = set(backend.conventions) - set(CONVENTIONS) - set(FAMILIES)
    if unknown:
        raise ValueError(
            f"backend {backend.name!r} declares unknown conventions {sorted(unknown)};"
            f" known: {', '.join(CONVENTIONS)} (or a whole family: {', '.join(FAMILIES)})"
        )
    for key, value in backend.conventions.items():
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"backend {backend.name!r} declares convention {key} = {value!r};"
                " a value is a non-empty string naming what the engine does"
            )
