"""The step language's operators as Python's own operators.

Any engine whose tensors overload Python's operators (``+``, ``**``, ``@``,
``<``, ``[]`` ...) can put these in its ``OPS`` as they are; each call goes to
the engine's own overload, so sharing this table shares no semantics. Python
numbers may appear on either side (``2 * x``), which the reflected overloads
handle.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


def setitem(target: Any, index: Any, value: Any) -> None:
    """``target[index] = value``, as a function (``operator.setitem`` has no types)."""
    target[index] = value


PYTHON_OPERATORS: dict[str, Callable[..., Any]] = {
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
    "setitem": setitem,
}
