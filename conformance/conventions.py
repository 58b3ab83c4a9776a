"""The closed vocabulary of conventions a case may pin, and when a case applies.

Where calculus leaves a value open (a kink, a singular point, a tie, NaN in
the input), an engine's answer is one convention among several. Engines
differ operation by operation (one gives abs'(0) = 0 and clamp at its bound 0,
another the reverse), so a convention is named per operation family:
``<family>.<operation>``, e.g. ``subgradient.abs``. A ``convention`` case
names each key it pins and the value it pins; an adapter declares the value
its engine follows for the keys where it differs (``Backend.conventions``).
A key the adapter does not declare is taken to follow the spec's pinned
value, so the default is to run the case and check it. Names outside this
list are schema errors in case files and usage errors in adapters, so a typo
never turns into a silent skip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Convention:
    """One open choice: what it decides, and the value the spec pins (torch's choice)."""

    decides: str
    pinned: str
    means: str  # what the pinned value says, so a vendor can tell whether their engine agrees


#: key -> the convention; the bundled cases pin exactly these values.
CONVENTIONS: dict[str, Convention] = {
    "subgradient.relu": Convention("relu'(0)", "zero", "relu'(0) = 0, the left derivative"),
    "subgradient.abs": Convention("abs'(0)", "zero", "abs'(0) = 0"),
    "subgradient.clamp": Convention(
        "the derivative of clamp at a bound",
        "one-at-bounds",
        "1 where min <= x <= max, bounds included",
    ),
    "subgradient.norm": Convention(
        "the gradient of the Euclidean norm at the zero vector",
        "zero",
        "the zero vector (not NaN)",
    ),
    "tie-break.max": Convention(
        "how max() and min() over all elements, amax and amin share the gradient among ties",
        "split-evenly",
        "each of k tied elements gets 1/k",
    ),
    "tie-break.max-dim": Convention(
        "which tied element max/min along a dim returns, and so sends the gradient to",
        "first-index",
        "the first tied index is returned and gets the whole gradient",
    ),
    "tie-break.maximum": Convention(
        "how elementwise maximum(a, b) and minimum(a, b) share the gradient where a == b",
        "split-evenly",
        "each argument gets half",
    ),
    "singular-point.sqrt": Convention(
        "sqrt'(0)",
        "inf",
        "+inf, so a zero upstream gradient gives 0 * inf = NaN",
    ),
    "singular-point.pow": Convention(
        "(x ** n)' at x = 0 for n < 1, where the formula n * x ** (n - 1) is 0 * inf or infinite",
        "limit",
        "its limit: 0 for x ** 0, +inf for x ** 0.5, -inf for x ** -1",
    ),
    "singular-point.log": Convention("log'(0)", "inf", "+inf, the formula 1 / x"),
    "singular-point.floor": Convention(
        "the derivative of floor at an integer, where it jumps", "zero", "0, as elsewhere"
    ),
    "singular-point.std": Convention(
        "the gradient of std where every element is equal (0 / 0)", "zero", "0 (not NaN)"
    ),
    "nan-propagation.mul": Convention(
        "the gradient of x * c when c is NaN or the product is inf * 0",
        "product-rule",
        "d(x * c)/dx = c and d(x * c)/dc = x, NaN and inf included",
    ),
    "nan-propagation.sum": Convention(
        "the gradient of sum at an element whose value is NaN",
        "ones",
        "1, as for every element",
    ),
    "nan-propagation.relu": Convention("relu'(NaN)", "passes", "1 (NaN fails the x <= 0 test)"),
    "nan-propagation.where": Convention(
        "whether a NaN derivative of where's unselected branch reaches the gradient",
        "poisons",
        "it does: 0 * NaN = NaN",
    ),
    "nan-propagation.log": Convention(
        "log' outside log's domain (x < 0)", "formula", "1 / x, e.g. log'(-1) = -1"
    ),
}

#: family -> what its keys decide. An adapter may declare a whole family at
#: once ({"subgradient": "mine"}): the value then applies to each of its keys
#: that the adapter does not declare one by one.
FAMILIES: dict[str, str] = {
    "subgradient": "the derivative at a kink",
    "tie-break": "how the gradient of max/min-like operations is shared among equal elements",
    "singular-point": "the derivative at a singular point or a jump",
    "nan-propagation": "how NaN (or a NaN-making inf * 0) reaches gradients",
}


def family(key: str) -> str:
    """The family a key belongs to: ``subgradient`` for ``subgradient.abs``."""
    return key.split(".", 1)[0]


#: The value that names torch's choice for any key: the value the spec pins.
#: Adapters written when conventions were named per family declared it
#: ({"subgradient": "torch"}); it keeps meaning what it meant.
TORCH = "torch"


def resolve(key: str, value: str) -> str:
    """A declared or pinned value, with ``torch`` read as the spec's pinned value."""
    convention = CONVENTIONS.get(key)
    return convention.pinned if value == TORCH and convention is not None else value


def followed_value(key: str, followed: Mapping[str, str]) -> tuple[str | None, str]:
    """The value an adapter follows for a key, and where that comes from.

    The key itself wins over its family, and an adapter that declares
    neither follows the spec's pinned value. None for a key this vocabulary
    does not know (a case built by hand), which then runs as pinned.
    """
    if key in followed:
        return resolve(key, followed[key]), "declared"
    if family(key) in followed:
        return resolve(key, followed[family(key)]), f"declared for all of {family(key)}"
    convention = CONVENTIONS.get(key)
    if convention is None:
        return None, "unknown key"
    return convention.pinned, "the spec's value; not declared"


def convention_skip_reason(
    pinned: Mapping[str, str], followed: Mapping[str, str], backend_name: str
) -> str | None:
    """Why a case pinning ``pinned`` does not apply to an engine following ``followed``.

    None when it applies: for every key the case pins, the engine follows the
    same value. Otherwise each differing key is named with the value the case
    pins and the one the engine follows, so the skip says what to look at.
    """
    differences = []
    for key, value in pinned.items():
        engine_value, source = followed_value(key, followed)
        if engine_value is not None and engine_value != resolve(key, value):
            differences.append(
                f"convention {key}: case pins {value!r},"
                f" backend {backend_name!r} follows {engine_value!r} ({source})"
            )
    return "; ".join(differences) or None
