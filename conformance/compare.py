"""Compare observed arrays with expected ones, the way torch.testing.assert_close does.

``|got - expected| <= atol + rtol * |expected|`` element by element, NaN equal
to NaN, infinities equal only to themselves, shapes exactly equal. A mismatch
says which element is worst and by how much, against which tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conformance.model import Tolerance

# torch.testing.assert_close's defaults.
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}


@dataclass(frozen=True)
class Mismatch:
    """One expectation the backend did not meet."""

    variable: str
    check: str  # value, shape, dtype, grad, grad_fn, ... or error
    message: str
    line: int = 0  # YAML line of the expectation or step

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.variable}: {self.message}{where}"


def resolve_tolerance(dtype: str, *levels: Tolerance) -> tuple[float, float]:
    """rtol and atol: the most specific level that sets each, else the dtype's default."""
    rtol, atol = DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))
    for level in reversed(levels):
        if level.rtol is not None:
            rtol = level.rtol
            break
    for level in reversed(levels):
        if level.atol is not None:
            atol = level.atol
            break
    return rtol, atol


def _format(value: float | bool) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "(scalar)"


def compare_arrays(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``expected``, else a one-line account of the worst element."""
    if tuple(expected.shape) != tuple(got.shape):
        return f"shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
    if expected.size == 0:
        return None
    if expected.dtype == bool or got.dtype == bool:
        differs = expected.astype(bool) != got.astype(bool)
        if not differs.any():
            return None
        index = tuple(int(i) for i in np.argwhere(differs)[0])
        return (
            f"{int(differs.sum())} of {differs.size} elements differ; first at {_index(index)}:"
            f" expected {expected[index]}, got {got[index]}"
        )
    e = expected.astype(
        np.complex128 if np.iscomplexobj(expected) or np.iscomplexobj(got) else np.float64
    )
    g = got.astype(e.dtype)
    e_nan, g_nan = np.isnan(e), np.isnan(g)
    finite = np.isfinite(e) & np.isfinite(g)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(g - e), 0.0)
        allowed = atol + rtol * np.abs(np.where(finite, e, 0.0))
        bad = np.where(finite, diff > allowed, ~((e_nan & g_nan) | (e == g)))
    if not bad.any():
        return None
    excess = np.where(bad, np.where(finite, diff - allowed, np.inf), -np.inf)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), e.shape))
    count = f"{int(bad.sum())} of {bad.size} elements differ" if bad.size > 1 else "differs"
    exp_v, got_v = expected[index].item(), got[index].item()
    detail = f"expected {_format(exp_v)}, got {_format(got_v)}"
    if finite[index]:
        detail += f" (|diff| {diff[index]:.3g} > atol {atol:.3g} + rtol {rtol:.3g} * |expected|)"
    else:
        detail += " (NaN and infinities compare exactly)"
    where = f"; worst at {_index(index)}" if bad.size > 1 else ""
    return f"{count}{where}: {detail}"
