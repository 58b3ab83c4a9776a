"""The oracle's tensor: a float64 numpy array plus the little tape state it models.

The oracle tracks only what decides which values are differentiable: whether a
tensor requires grad (values that do not are constants for every derivative
order, exactly as detach() and no_grad() make them), whether it is a leaf,
and its accumulated ``.grad``. ``origin`` names the place that made it, so a
re-run can perturb the same tensor again.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class OracleTensor:
    array: np.ndarray
    origin: Hashable
    requires_grad: bool = False
    is_leaf: bool = True
    retains_grad: bool = False
    grad: OracleTensor | None = None
    # Why values computed from this one cannot be judged (e.g. a hook changed a gradient).
    unjudged: str | None = None
    # Whether finite differences went into the value (its error is then estimated).
    differentiated: bool = False

    @property
    def is_float(self) -> bool:
        return self.array.dtype.kind in "fc"


@dataclass(frozen=True)
class Handle:
    """What register_hook returns: only ``remove()`` is ever called on it."""

    target: OracleTensor


class OracleStepError(Exception):
    """A step the oracle cannot evaluate: the reason it gives is listed as 'not judged'."""


def float_array(value: object) -> np.ndarray:
    """A writable array; floating values in float64 so that differences stay accurate."""
    array = np.array(value)
    if array.dtype.kind == "f" and array.dtype != np.float64:
        array = array.astype(np.float64)
    return array
