"""A starting point for a backend adapter: copy this file into your package and fill it in.

Every method says what the runner needs of it. Start with ``tensor``,
``to_numpy``, ``is_tensor``, ``grad`` and a few ``OPS``, declare no
capabilities, and run ``pytest --autograd-backend=yourpkg.adapter:MyBackend``:
the cases that need nothing more run, the others are skipped with the
capability they need. Then add capabilities one at a time. The torch adapter
(``conformance/adapters/torch_backend.py``) is a complete example, and
``docs/writing-an-adapter.md`` says which cases exercise each method.

Anything your engine cannot do: leave the method out (the base class raises
NotSupportedError) or raise ``NotSupportedError("what is missing")`` yourself.
The case is then skipped with that reason, never passed and never failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from conformance.backend import Backend
from conformance.errors import NotSupportedError

# import myengine  # your engine


class TemplateBackend(Backend):
    #: Shown in headers and reports.
    name = "template"
    #: What the engine has, from conformance.capabilities.CAPABILITIES; a typo is an error.
    #: Cases needing anything not listed here are skipped before they reach the adapter.
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: Where several answers are legitimate (a kink, a tie, a singular point),
    #: the ones where your engine differs from the value the spec pins, by key
    #: of conformance/conventions.py, e.g. {"subgradient.clamp": "zero-at-bounds"};
    #: cases pinning another value for that key are skipped. Leave out what
    #: your engine does as pinned: those cases run and are checked.
    conventions: ClassVar[Mapping[str, str]] = {}
    #: True only if the engine promises torch's own exception classes, messages
    #: and grad_fn names (a PyTorch device backend): strict mode becomes the default.
    torch_details: ClassVar[bool] = False
    #: The step language's operations, called with the vocabulary's arguments
    #: (docs/vocabulary.md lists them with their signatures), e.g.
    #: "add": lambda a, b: a + b, "sum": lambda x, dim, keepdim: myengine.sum(x, dim, keepdim).
    #: An operation missing here skips the cases that use it.
    #: conformance.operators.PYTHON_OPERATORS covers + - * / ** @, comparisons
    #: and indexing for tensors that overload Python's operators.
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {}

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        # Fail here, once, if the device does not exist: it becomes a clear usage error.

    @property
    def version(self) -> str:
        return "0.0"  # myengine.__version__

    # Data: every case needs these three ------------------------------------------------------
    def tensor(self, array: np.ndarray, requires_grad: bool) -> Any:
        """A leaf holding ``array`` with its dtype (float32 or float64), on ``self.device``."""
        raise NotSupportedError("creating tensors")

    def to_numpy(self, tensor: Any) -> np.ndarray:
        """The values, as numpy, without recording anything on the tape."""
        raise NotSupportedError("reading tensors")

    def is_tensor(self, value: Any) -> bool:
        return False  # isinstance(value, myengine.Tensor)

    # Autograd: grad() is the portable core -------------------------------------------------
    def grad(
        self,
        outputs: Sequence[Any],
        inputs: Sequence[Any],
        grad_outputs: Sequence[Any | None] | None,
        retain_graph: bool | None,
        create_graph: bool,
        allow_unused: bool,
        materialize_grads: bool = False,
    ) -> tuple[Any | None, ...]:
        """The vector-Jacobian product of outputs (weighted by grad_outputs) per input.

        None for an input the outputs do not depend on when ``allow_unused``;
        an error otherwise; zeros instead of None with ``materialize_grads``
        (passed only by the cases that set it). With ``create_graph`` the results carry a graph
        (declare "higher-order"). Nothing is accumulated into ``.grad``.
        """
        raise NotSupportedError("grad()")

    # Optional, one capability each: uncomment and implement, then declare it.
    # backward(...)                -> "backward"
    # get_grad/zero_grad/clear_grad -> "grad-accumulation"
    # has_grad_fn, is_leaf         -> "grad-fn"
    # requires_grad, requires_grad_ -> "requires-grad-flag"
    # detach                       -> "detach"
    # retain_grad                  -> "retain-grad"
    # grad_mode("no_grad"/"enable_grad") -> "grad-mode"; ("inference_mode") -> "inference-mode"
    # register_hook, remove_hook   -> "hooks"
    # the OPS setitem, add_, ...   -> "in-place"
