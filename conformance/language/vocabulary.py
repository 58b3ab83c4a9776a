"""The closed vocabulary of the step language: one table, one entry per name.

Each entry is the signature a call is bound against at load time (so a typo in
a keyword is a load error, not a runtime surprise) and the form the runner
hands to the backend: ``backend.op(name, *args)`` with arguments in signature
order and defaults filled in. ``docs/case-format.md`` renders this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Category(Enum):
    TENSOR = "tensor"  # an operation the backend computes: Backend.op(name, *args)
    AUTOGRAD = "autograd"  # grad, backward and the tape's introspection: Backend methods
    CREATION = "creation"  # a constant tensor from a literal: Backend.tensor


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


@dataclass(frozen=True)
class Param:
    name: str
    default: object = REQUIRED
    variadic: bool = False  # collects the remaining positionals into a tuple (reshape(2, 3))


@dataclass(frozen=True)
class OpSpec:
    name: str
    params: tuple[Param, ...]
    category: Category
    doc: str
    function: bool = True  # callable as name(x, ...)
    method: bool = True  # callable as x.name(...)
    operator: str | None = None  # the Python operator that compiles to it


def _p(name: str, default: object = REQUIRED, variadic: bool = False) -> Param:
    return Param(name, default, variadic)


_X = (_p("input"),)
_XY = (_p("input"), _p("other"))
_REDUCE = (_p("input"), _p("dim", None), _p("keepdim", False))


def _unary(name: str, doc: str) -> OpSpec:
    return OpSpec(name, _X, Category.TENSOR, doc)


_SPECS: tuple[OpSpec, ...] = (
    # Operators
    OpSpec("add", _XY, Category.TENSOR, "a + b (broadcasting)", operator="+"),
    OpSpec("sub", _XY, Category.TENSOR, "a - b (broadcasting)", operator="-"),
    OpSpec("mul", _XY, Category.TENSOR, "a * b (broadcasting)", operator="*"),
    OpSpec("div", _XY, Category.TENSOR, "a / b (true division, broadcasting)", operator="/"),
    OpSpec("pow", _XY, Category.TENSOR, "a ** b; b a number or a tensor", operator="**"),
    OpSpec("matmul", _XY, Category.TENSOR, "a @ b, matrix product", operator="@"),
    OpSpec("neg", _X, Category.TENSOR, "-a", operator="unary -"),
    OpSpec("lt", _XY, Category.TENSOR, "a < b, a boolean mask", operator="<", method=False),
    OpSpec("le", _XY, Category.TENSOR, "a <= b, a boolean mask", operator="<=", method=False),
    OpSpec("gt", _XY, Category.TENSOR, "a > b, a boolean mask", operator=">", method=False),
    OpSpec("ge", _XY, Category.TENSOR, "a >= b, a boolean mask", operator=">=", method=False),
    OpSpec("eq", _XY, Category.TENSOR, "a == b, a boolean mask", operator="==", method=False),
    OpSpec("ne", _XY, Category.TENSOR, "a != b, a boolean mask", operator="!=", method=False),
    OpSpec(
        "getitem",
        (_p("input"), _p("index")),
        Category.TENSOR,
        "a[index]: integers, slices, None, ..., tensors and boolean masks, as in NumPy",
        operator="a[i]",
        function=False,
        method=False,
    ),
    OpSpec(
        "setitem",
        (_p("input"), _p("index"), _p("value")),
        Category.TENSOR,
        "a[index] = v, an in-place write into a (a statement)",
        operator="a[i] = v",
        function=False,
        method=False,
    ),
    # Elementwise
    _unary("exp", "e ** x"),
    _unary("log", "natural logarithm"),
    _unary("sin", "sine"),
    _unary("cos", "cosine"),
    _unary("tanh", "hyperbolic tangent"),
    _unary("sigmoid", "1 / (1 + exp(-x))"),
    _unary("relu", "max(x, 0)"),
    _unary("abs", "|x|"),
    _unary("sqrt", "square root"),
    # Reductions
    OpSpec("sum", _REDUCE, Category.TENSOR, "sum over dim (an int, a tuple, or None for all)"),
    OpSpec("mean", _REDUCE, Category.TENSOR, "mean over dim (an int, a tuple, or None for all)"),
    # Linear algebra and shapes
    OpSpec(
        "cat",
        (_p("tensors"), _p("dim", 0)),
        Category.TENSOR,
        "join a list of tensors along an existing dim",
        method=False,
    ),
    OpSpec(
        "stack",
        (_p("tensors"), _p("dim", 0)),
        Category.TENSOR,
        "join a list of tensors along a new dim",
        method=False,
    ),
    OpSpec(
        "reshape",
        (_p("input"), _p("shape", variadic=True)),
        Category.TENSOR,
        "same elements, new shape: reshape(x, (2, 3)) or x.reshape(2, 3)",
    ),
    OpSpec(
        "transpose",
        (_p("input"), _p("dim0"), _p("dim1")),
        Category.TENSOR,
        "swap two dims",
    ),
    OpSpec(
        "T",
        _X,
        Category.TENSOR,
        "x.T: the dims of a tensor of at most 2 dims reversed",
        function=False,
        method=False,
        operator="a.T",
    ),
    # Creation
    OpSpec(
        "ones_like", _X, Category.TENSOR, "ones of x's shape and dtype, no history", method=False
    ),
    OpSpec(
        "zeros_like", _X, Category.TENSOR, "zeros of x's shape and dtype, no history", method=False
    ),
    OpSpec(
        "full_like",
        (_p("input"), _p("fill_value")),
        Category.TENSOR,
        "fill_value in x's shape and dtype, no history",
        method=False,
    ),
    OpSpec(
        "tensor",
        (_p("data"), _p("requires_grad", False)),
        Category.CREATION,
        "a new leaf from a literal number or nested list, in the case's dtype",
        method=False,
    ),
    # Autograd
    OpSpec(
        "grad",
        (
            _p("outputs"),
            _p("inputs"),
            _p("grad_outputs", None),
            _p("retain_graph", None),
            _p("create_graph", False),
            _p("allow_unused", False),
            _p("only_inputs", True),
        ),
        Category.AUTOGRAD,
        "a tuple of the sums of vector-Jacobian products of outputs w.r.t. each input;"
        " accumulates nothing; only_inputs is accepted and ignored (deprecated in torch)",
        method=False,
    ),
    OpSpec(
        "backward",
        (
            _p("tensors"),
            _p("grad_tensors", None),
            _p("retain_graph", None),
            _p("create_graph", False),
            _p("inputs", None),
        ),
        Category.AUTOGRAD,
        "accumulate vector-Jacobian products into the leaves' .grad;"
        " as a method: t.backward(gradient=None, retain_graph=None, create_graph=False, inputs=None)",
    ),
    OpSpec("detach", _X, Category.AUTOGRAD, "the same values, cut from the graph", method=True),
    OpSpec(
        "requires_grad_",
        (_p("input"), _p("requires_grad", True)),
        Category.AUTOGRAD,
        "set requires_grad on a leaf in place; returns it",
        function=False,
    ),
    OpSpec(
        "retain_grad",
        _X,
        Category.AUTOGRAD,
        "make a non-leaf keep its .grad",
        function=False,
    ),
    OpSpec(
        "get_grad", _X, Category.AUTOGRAD, "t.grad", function=False, method=False, operator="a.grad"
    ),
    OpSpec(
        "zero_grad",
        _X,
        Category.AUTOGRAD,
        "t.grad.zero_(): zero the accumulated gradient in place",
        function=False,
        method=False,
        operator="a.grad.zero_()",
    ),
    OpSpec(
        "clear_grad",
        _X,
        Category.AUTOGRAD,
        "t.grad = None",
        function=False,
        method=False,
        operator="a.grad = None",
    ),
)

OPS: dict[str, OpSpec] = {spec.name: spec for spec in _SPECS}

# `with MODE():` blocks: the name and whether it switches gradient recording on.
GRAD_MODES: dict[str, bool | None] = {"no_grad": False, "enable_grad": True}

BINARY_OPERATORS = {
    "Add": "add",
    "Sub": "sub",
    "Mult": "mul",
    "Div": "div",
    "Pow": "pow",
    "MatMult": "matmul",
}
COMPARE_OPERATORS = {"Lt": "lt", "LtE": "le", "Gt": "gt", "GtE": "ge", "Eq": "eq", "NotEq": "ne"}

# The method form of backward names its first arguments differently.
BACKWARD_METHOD_PARAMS = ("gradient", "retain_graph", "create_graph", "inputs")


def function_names() -> frozenset[str]:
    return frozenset(name for name, spec in OPS.items() if spec.function)


def method_names() -> frozenset[str]:
    return frozenset(name for name, spec in OPS.items() if spec.method)
