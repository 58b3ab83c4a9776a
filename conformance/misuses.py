"""The closed vocabulary of misuses an expected-error case may name.

Every case that expects an error says which rule of autograd the program
breaks. Reports record, beside it, what the engine raised, so a vendor sees
which of its errors met which rule; and a spec author cannot file a new
"must raise" case without saying what it is about. Names outside this list
are schema errors.
"""

from __future__ import annotations

MISUSES: dict[str, str] = {
    "freed-graph": "differentiating again through a graph whose saved values were freed",
    "non-scalar-without-cotangent": (
        "grad() or backward() of an output with more than one element, without grad_outputs"
    ),
    "cotangent-shape-mismatch": (
        "grad_outputs or a backward gradient whose shape is not the output's"
    ),
    "unused-input": (
        "grad() with respect to an input the outputs do not use, without allow_unused"
    ),
    "output-without-history": (
        "grad() or backward() of an output that does not require grad and has no grad_fn"
    ),
    "input-not-requiring-grad": "grad() with respect to an input that does not require grad",
    "inplace-on-leaf": "an in-place operation on a leaf that requires grad, or on a view of one",
    "saved-tensor-modified": (
        "a backward pass reaching a saved tensor modified in place since (version mismatch)"
    ),
    "requires-grad-on-non-floating": "asking a tensor of an integer dtype to require grad",
    "requires-grad-change-on-non-leaf": "changing requires_grad of a non-leaf tensor",
    "inference-tensor-saved": "saving a tensor made in inference_mode() for a recorded backward",
}
