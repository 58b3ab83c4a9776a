"""The closed vocabulary of conventions a case may pin.

Where calculus leaves a value open (a kink, a singular point, a tie, NaN in
the input), an engine's answer is one convention among several. A
``convention`` case names the convention and the value it pins; an adapter
declares the value its engine follows (``Backend.conventions``), and cases
pinning another value are skipped with that reason. Names outside this list
are schema errors in case files and usage errors in adapters, so a typo
never turns into a silent skip.
"""

from __future__ import annotations

#: name -> what it decides, and torch's choice (the value "torch").
CONVENTIONS: dict[str, str] = {
    "subgradient": "the derivative at a kink: relu'(0) = 0, abs'(0) = 0, clamp at a bound",
    "tie-break": "how the gradient of max/min-like operations is shared among equal elements",
    "singular-point": "the value at a singular point: sqrt'(0) = inf, log'(0) = inf, 0 ** 0",
    "nan-propagation": "how NaN inputs reach gradients (relu'(NaN), where with NaN branches)",
    "complex-gradient": "which derivative of a real function of complex inputs is returned",
}
