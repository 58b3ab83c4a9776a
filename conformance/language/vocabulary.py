"""The closed vocabulary of the step language: one table, one entry per name.

Each entry is the signature a call is bound against at load time (so a typo in
a keyword is a load error, not a runtime surprise) and the form the runner
hands to the backend: ``backend.op(name, *args)`` with arguments in signature
order and defaults filled in. ``docs/vocabulary.md`` is rendered from this
table by :func:`render_vocabulary_markdown`, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Category(Enum):
    """How the runner dispatches a call (not how the documentation groups it)."""

    TENSOR = "tensor"  # an operation the backend computes: Backend.op(name, *args)
    AUTOGRAD = "autograd"  # grad, backward, hooks and the tape's introspection: Backend methods
    CREATION = "creation"  # a constant tensor built on numpy, handed over by Backend.tensor


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
    group: str = ""  # the heading it is listed under in docs/vocabulary.md
    capability: str | None = None  # what a backend must declare to run it

    def signature(self) -> str:
        parts = []
        for param in self.params:
            if param.variadic:
                parts.append(f"*{param.name}")
            elif param.default is REQUIRED:
                parts.append(param.name)
            else:
                parts.append(f"{param.name}={param.default!r}")
        return f"{self.name}({', '.join(parts)})"


def _p(name: str, default: object = REQUIRED, variadic: bool = False) -> Param:
    return Param(name, default, variadic)


_X = (_p("input"),)
_XY = (_p("input"), _p("other"))
_REDUCE = (_p("input"), _p("dim", None), _p("keepdim", False))
_CORRECTED = (_p("input"), _p("dim", None), _p("correction", 1), _p("keepdim", False))
_CLAMP = (_p("input"), _p("min", None), _p("max", None))
_RG = _p("requires_grad", False)


def _op(
    name: str,
    params: tuple[Param, ...],
    group: str,
    doc: str,
    *,
    function: bool = True,
    method: bool = True,
    operator: str | None = None,
    capability: str | None = None,
    category: Category = Category.TENSOR,
) -> OpSpec:
    return OpSpec(name, params, category, doc, function, method, operator, group, capability)


def _unary(name: str, doc: str, group: str = "elementwise") -> OpSpec:
    return _op(name, _X, group, doc)


def _inplace(name: str, params: tuple[Param, ...], doc: str) -> OpSpec:
    return _op(name, params, "in-place", doc, function=False, capability="in-place")


def _creation(name: str, params: tuple[Param, ...], doc: str) -> OpSpec:
    return _op(name, params, "creation", doc, method=False, category=Category.CREATION)


def _autograd(
    name: str,
    params: tuple[Param, ...],
    doc: str,
    *,
    function: bool = True,
    method: bool = True,
    operator: str | None = None,
    capability: str | None = None,
) -> OpSpec:
    return _op(
        name,
        params,
        "autograd",
        doc,
        function=function,
        method=method,
        operator=operator,
        capability=capability,
        category=Category.AUTOGRAD,
    )


_SPECS: tuple[OpSpec, ...] = (
    # Operators
    _op("add", _XY, "arithmetic", "a + b (broadcasting)", operator="+"),
    _op("sub", _XY, "arithmetic", "a - b (broadcasting)", operator="-"),
    _op("mul", _XY, "arithmetic", "a * b (broadcasting)", operator="*"),
    _op("div", _XY, "arithmetic", "a / b (true division, broadcasting)", operator="/"),
    _op("pow", _XY, "arithmetic", "a ** b; b a number or a tensor", operator="**"),
    _op("matmul", _XY, "arithmetic", "a @ b, matrix product", operator="@"),
    _op("neg", _X, "arithmetic", "-a", operator="unary -"),
    _op("lt", _XY, "comparison", "a < b, a boolean mask", operator="<", method=False),
    _op("le", _XY, "comparison", "a <= b, a boolean mask", operator="<=", method=False),
    _op("gt", _XY, "comparison", "a > b, a boolean mask", operator=">", method=False),
    _op("ge", _XY, "comparison", "a >= b, a boolean mask", operator=">=", method=False),
    _op("eq", _XY, "comparison", "a == b, a boolean mask", operator="==", method=False),
    _op("ne", _XY, "comparison", "a != b, a boolean mask", operator="!=", method=False),
    _op(
        "getitem",
        (_p("input"), _p("index")),
        "indexing",
        "a[index]: integers, slices, None, ..., integer tensors and boolean masks, as in NumPy",
        operator="a[i]",
        function=False,
        method=False,
    ),
    _op(
        "setitem",
        (_p("input"), _p("index"), _p("value")),
        "in-place",
        "a[index] = v, an in-place write into a (a statement)",
        operator="a[i] = v",
        function=False,
        method=False,
        capability="in-place",
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
    _unary("sign", "-1, 0 or 1 by the sign of x (piecewise constant)"),
    _unary("square", "x * x"),
    _unary("reciprocal", "1 / x"),
    _unary("log1p", "log(1 + x), accurate near 0"),
    _unary("expm1", "exp(x) - 1, accurate near 0"),
    _unary("tan", "tangent"),
    _unary("asin", "inverse sine"),
    _unary("atan", "inverse tangent"),
    _unary("sinh", "hyperbolic sine"),
    _unary("cosh", "hyperbolic cosine"),
    _unary("floor", "largest integer <= x, as a float (piecewise constant)"),
    _unary("round", "nearest integer, halves to even, as a float (piecewise constant)"),
    _op("maximum", _XY, "elementwise", "elementwise larger of two tensors (broadcasting)"),
    _op("minimum", _XY, "elementwise", "elementwise smaller of two tensors (broadcasting)"),
    _op(
        "clamp",
        _CLAMP,
        "elementwise",
        "x limited to [min, max]; either bound may be None, a number or a tensor",
    ),
    _op(
        "where",
        (_p("condition"), _p("input"), _p("other")),
        "elementwise",
        "input where the boolean condition holds, else other (broadcasting)",
        method=False,
    ),
    # Reductions
    _op("sum", _REDUCE, "reduction", "sum over dim (an int, a tuple, or None for all)"),
    _op("mean", _REDUCE, "reduction", "mean over dim (an int, a tuple, or None for all)"),
    _op(
        "max",
        _REDUCE,
        "reduction",
        "dim=None: the largest element (a tensor); with an int dim: a tuple (values, indices)",
    ),
    _op(
        "min",
        _REDUCE,
        "reduction",
        "dim=None: the smallest element (a tensor); with an int dim: a tuple (values, indices)",
    ),
    _op("amax", _REDUCE, "reduction", "largest values over dim (an int, a tuple, or None)"),
    _op("amin", _REDUCE, "reduction", "smallest values over dim (an int, a tuple, or None)"),
    _op("prod", _REDUCE, "reduction", "product over dim (an int, or None for all)"),
    _op(
        "var",
        _CORRECTED,
        "reduction",
        "variance over dim: sum((x - mean)^2) / (N - correction)",
    ),
    _op(
        "std",
        _CORRECTED,
        "reduction",
        "standard deviation: sqrt(var(x, dim, correction))",
    ),
    _op(
        "norm",
        (_p("input"), _p("p", 2), _p("dim", None), _p("keepdim", False)),
        "reduction",
        "vector p-norm over dim (None: all elements): sum(|x|^p)^(1/p)",
    ),
    _op(
        "logsumexp",
        (_p("input"), _p("dim"), _p("keepdim", False)),
        "reduction",
        "log(sum(exp(x))) over dim (an int or a tuple), computed stably",
    ),
    _op("softmax", (_p("input"), _p("dim")), "reduction", "exp(x) / sum(exp(x)) along dim"),
    _op("log_softmax", (_p("input"), _p("dim")), "reduction", "log(softmax(x, dim))"),
    # Indexing
    _op(
        "gather",
        (_p("input"), _p("dim"), _p("index")),
        "indexing",
        "out[i][j] = input[i][index[i][j]] (dim=1); index an integer tensor",
    ),
    _op(
        "index_select",
        (_p("input"), _p("dim"), _p("index")),
        "indexing",
        "the entries of input at a 1-d integer index along dim",
    ),
    _op(
        "scatter",
        (_p("input"), _p("dim"), _p("index"), _p("src")),
        "indexing",
        "a copy of input with src written at index along dim (src a tensor or a number)",
    ),
    _op(
        "index_add",
        (_p("input"), _p("dim"), _p("index"), _p("source")),
        "indexing",
        "a copy of input with source's slices added at a 1-d index along dim;"
        " duplicates accumulate",
    ),
    _op(
        "masked_fill",
        (_p("input"), _p("mask"), _p("value")),
        "indexing",
        "a copy of input with value where the boolean mask holds",
    ),
    _op(
        "embedding",
        (_p("input"), _p("weight")),
        "indexing",
        "torch.nn.functional.embedding: the rows of weight at the integer tensor input",
        method=False,
    ),
    # Shapes and views
    _op(
        "cat",
        (_p("tensors"), _p("dim", 0)),
        "shape",
        "join a list of tensors along an existing dim",
        method=False,
    ),
    _op(
        "stack",
        (_p("tensors"), _p("dim", 0)),
        "shape",
        "join a list of tensors along a new dim",
        method=False,
    ),
    _op(
        "reshape",
        (_p("input"), _p("shape", variadic=True)),
        "shape",
        "same elements, new shape: reshape(x, (2, 3)) or x.reshape(2, 3)",
    ),
    _op(
        "view",
        (_p("input"), _p("shape", variadic=True)),
        "shape",
        "a view with a new shape, sharing storage: x.view(2, 3)",
        function=False,
    ),
    _op(
        "expand",
        (_p("input"), _p("sizes", variadic=True)),
        "shape",
        "a broadcast view; size -1 keeps a dim: x.expand(2, 3)",
        function=False,
    ),
    _op(
        "unsqueeze",
        (_p("input"), _p("dim")),
        "shape",
        "a view with a new dim of size 1 at dim",
    ),
    _op(
        "squeeze",
        (_p("input"), _p("dim", None)),
        "shape",
        "a view without dims of size 1 (all, or those of dim; a dim of another size stays)",
    ),
    _op(
        "permute",
        (_p("input"), _p("dims", variadic=True)),
        "shape",
        "a view with the dims reordered: x.permute(1, 0)",
    ),
    _op(
        "flatten",
        (_p("input"), _p("start_dim", 0), _p("end_dim", -1)),
        "shape",
        "dims start_dim..end_dim merged into one (a 0-d tensor becomes shape (1,))",
    ),
    _op(
        "transpose",
        (_p("input"), _p("dim0"), _p("dim1")),
        "shape",
        "swap two dims",
    ),
    _op(
        "T",
        _X,
        "shape",
        "x.T: the dims of a tensor of at most 2 dims reversed",
        function=False,
        method=False,
        operator="a.T",
    ),
    _op("clone", _X, "shape", "a copy with its own storage; gradients flow through"),
    # More elementwise
    _unary("ceil", "smallest integer >= x, as a float (piecewise constant)"),
    _unary("trunc", "x rounded toward zero, as a float (piecewise constant)"),
    _unary("log2", "base-2 logarithm"),
    _unary("log10", "base-10 logarithm"),
    _unary("exp2", "2 ** x"),
    _unary("erf", "the error function 2 / sqrt(pi) * integral of exp(-t^2) from 0 to x"),
    _op("atan2", _XY, "elementwise", "the angle of the point (other, input), in (-pi, pi]"),
    # Activations (torch.nn.functional)
    _op(
        "softplus",
        (_p("input"), _p("beta", 1), _p("threshold", 20)),
        "activation",
        "log(1 + exp(beta * x)) / beta; x itself where beta * x > threshold",
        method=False,
    ),
    _op(
        "gelu",
        (_p("input"), _p("approximate", "none")),
        "activation",
        "x * Phi(x) = x / 2 * (1 + erf(x / sqrt(2))); approximate='tanh' gives"
        " x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))",
        method=False,
    ),
    _op("silu", _X, "activation", "x * sigmoid(x)", method=False),
    _op(
        "leaky_relu",
        (_p("input"), _p("negative_slope", 0.01)),
        "activation",
        "x where x > 0, else negative_slope * x",
        method=False,
    ),
    _op(
        "elu",
        (_p("input"), _p("alpha", 1.0)),
        "activation",
        "x where x > 0, else alpha * (exp(x) - 1)",
        method=False,
    ),
    _op("logsigmoid", _X, "activation", "log(sigmoid(x)), computed stably", method=False),
    # Scans, sorting and selection
    _op("cumsum", (_p("input"), _p("dim")), "scan", "running sum along dim"),
    _op("cumprod", (_p("input"), _p("dim")), "scan", "running product along dim"),
    _op(
        "argmax",
        _REDUCE,
        "scan",
        "int64 index of the largest element: over the flattened tensor for dim=None"
        " (keepdim gives every dim size 1), else along dim",
    ),
    _op(
        "argmin",
        _REDUCE,
        "scan",
        "int64 index of the smallest element: over the flattened tensor for dim=None"
        " (keepdim gives every dim size 1), else along dim",
    ),
    _op(
        "sort",
        (_p("input"), _p("dim", -1), _p("descending", False)),
        "scan",
        "a tuple (values, indices) sorted along dim; the order of ties is unspecified",
    ),
    _op(
        "topk",
        (_p("input"), _p("k"), _p("dim", -1), _p("largest", True), _p("sorted", True)),
        "scan",
        "a tuple (values, indices) of the k largest (largest=False: smallest) along dim;"
        " sorted=False leaves their order unspecified",
    ),
    _op(
        "masked_select",
        (_p("input"), _p("mask")),
        "indexing",
        "a 1-d tensor of the elements of input where the boolean mask holds (broadcasting)",
    ),
    # Linear algebra
    _op("dot", _XY, "linear algebra", "inner product of two 1-d tensors"),
    _op("mm", (_p("input"), _p("mat2")), "linear algebra", "matrix product of two 2-d tensors"),
    _op(
        "bmm",
        (_p("input"), _p("mat2")),
        "linear algebra",
        "batched matrix product of two 3-d tensors (b, n, m) and (b, m, p)",
    ),
    _op("mv", (_p("input"), _p("vec")), "linear algebra", "matrix-vector product"),
    _op("outer", (_p("input"), _p("vec2")), "linear algebra", "outer product of two 1-d tensors"),
    _op("trace", _X, "linear algebra", "sum of the main diagonal of a 2-d tensor"),
    _op(
        "diag",
        (_p("input"), _p("diagonal", 0)),
        "linear algebra",
        "1-d input: a square matrix with input on that diagonal; 2-d input: that diagonal",
    ),
    _op(
        "tril",
        (_p("input"), _p("diagonal", 0)),
        "linear algebra",
        "a copy with the elements above the given diagonal set to 0",
    ),
    _op(
        "triu",
        (_p("input"), _p("diagonal", 0)),
        "linear algebra",
        "a copy with the elements below the given diagonal set to 0",
    ),
    _op(
        "einsum",
        (_p("equation"), _p("operands", variadic=True)),
        "linear algebra",
        "Einstein summation: einsum('ij,jk->ik', a, b); the equation is a string literal",
        method=False,
    ),
    # More shapes
    _op(
        "flip",
        (_p("input"), _p("dims")),
        "shape",
        "a copy with the order of elements reversed along each of dims (a tuple or list)",
    ),
    _op(
        "roll",
        (_p("input"), _p("shifts"), _p("dims", None)),
        "shape",
        "elements shifted cyclically by shifts along dims (None: the flattened tensor, shape kept)",
    ),
    _op(
        "repeat",
        (_p("input"), _p("sizes", variadic=True)),
        "shape",
        "x tiled sizes[i] times along each dim: x.repeat(2, 3)",
        function=False,
    ),
    _op(
        "t",
        _X,
        "shape",
        "x.t(): a view with the two dims of a 2-d tensor swapped (fewer dims: x itself)",
        function=False,
    ),
    _op(
        "narrow",
        (_p("input"), _p("dim"), _p("start"), _p("length")),
        "shape",
        "a view of length elements from start along dim",
    ),
    _op(
        "unbind",
        (_p("input"), _p("dim", 0)),
        "shape",
        "a tuple of the slices along dim, that dim removed",
    ),
    _op(
        "split",
        (_p("input"), _p("split_size_or_sections"), _p("dim", 0)),
        "shape",
        "a tuple of views along dim: pieces of an int size (the last may be smaller), or of"
        " the sizes of a list",
    ),
    _op(
        "chunk",
        (_p("input"), _p("chunks"), _p("dim", 0)),
        "shape",
        "a tuple of at most chunks views of ceil(size / chunks) along dim (the last may be"
        " smaller)",
    ),
    # Dtype
    _op("double", _X, "dtype", "a float64 copy (differentiable cast)", function=False),
    _op("float", _X, "dtype", "a float32 copy (differentiable cast)", function=False),
    _op("long", _X, "dtype", "an int64 copy (rounds toward zero; no gradient)", function=False),
    # Constants
    _op("ones_like", _X, "creation", "ones of x's shape and dtype, no history", method=False),
    _op("zeros_like", _X, "creation", "zeros of x's shape and dtype, no history", method=False),
    _op(
        "full_like",
        (_p("input"), _p("fill_value")),
        "creation",
        "fill_value in x's shape and dtype, no history",
        method=False,
    ),
    _creation(
        "tensor",
        (_p("data"), _RG),
        "a new leaf from a literal number or nested list, in the case's dtype"
        " (a list of only True/False gives a boolean mask)",
    ),
    _creation(
        "ones",
        (_p("shape", variadic=True), _RG),
        "a leaf of ones in the case's dtype: ones(2, 3) or ones((2, 3))",
    ),
    _creation(
        "zeros",
        (_p("shape", variadic=True), _RG),
        "a leaf of zeros in the case's dtype: zeros(2, 3) or zeros((2, 3))",
    ),
    _creation(
        "full",
        (_p("shape"), _p("fill_value"), _RG),
        "a leaf of fill_value in the case's dtype: full((2, 3), 7.0)",
    ),
    _creation(
        "arange",
        (_p("start", 0), _p("end", None), _p("step", 1), _RG),
        "start, start + step, ... up to end (excluded) in the case's dtype; arange(n) is"
        " 0, 1, ..., n - 1",
    ),
    _creation("eye", (_p("n"), _RG), "the n x n identity in the case's dtype"),
    # In-place (each returns its input)
    _inplace("add_", _XY, "x += other"),
    _inplace("sub_", _XY, "x -= other"),
    _inplace("mul_", _XY, "x *= other"),
    _inplace("div_", _XY, "x /= other"),
    _inplace("exp_", _X, "x = exp(x)"),
    _inplace("zero_", _X, "x = 0"),
    _inplace("fill_", (_p("input"), _p("value")), "every element of x set to value"),
    _inplace("clamp_", _CLAMP, "x = clamp(x, min, max)"),
    _inplace("copy_", (_p("input"), _p("src")), "src's values written into x (broadcasting)"),
    # Autograd
    _autograd(
        "grad",
        (
            _p("outputs"),
            _p("inputs"),
            _p("grad_outputs", None),
            _p("retain_graph", None),
            _p("create_graph", False),
            _p("allow_unused", None),
            _p("only_inputs", True),
            _p("materialize_grads", False),
        ),
        "a tuple of the sums of vector-Jacobian products of outputs w.r.t. each input;"
        " accumulates nothing; only_inputs is accepted and ignored (deprecated in torch);"
        " allow_unused=None means materialize_grads; materialize_grads=True gives zeros"
        " instead of None for unused inputs",
        method=False,
    ),
    _autograd(
        "backward",
        (
            _p("tensors"),
            _p("grad_tensors", None),
            _p("retain_graph", None),
            _p("create_graph", False),
            _p("inputs", None),
        ),
        "accumulate vector-Jacobian products into the leaves' .grad;"
        " as a method: t.backward(gradient=None, retain_graph=None, create_graph=False,"
        " inputs=None)",
        capability="backward",
    ),
    _autograd("detach", _X, "the same values, cut from the graph", capability="detach"),
    _autograd(
        "requires_grad_",
        (_p("input"), _p("requires_grad", True)),
        "set requires_grad on a leaf in place; returns it",
        function=False,
        capability="requires-grad-flag",
    ),
    _autograd(
        "retain_grad",
        _X,
        "make a non-leaf keep its .grad",
        function=False,
        capability="retain-grad",
    ),
    _autograd(
        "register_hook",
        (_p("input"), _p("hook")),
        "call hook (a one-parameter lambda) on the gradient w.r.t. the tensor; a non-None"
        " result replaces the gradient; returns a handle",
        function=False,
        capability="hooks",
    ),
    _autograd(
        "remove",
        (_p("handle"),),
        "h.remove(): unregister the hook of the handle h",
        function=False,
        capability="hooks",
    ),
    _autograd(
        "get_grad",
        _X,
        "t.grad",
        function=False,
        method=False,
        operator="a.grad",
        capability="grad-accumulation",
    ),
    _autograd(
        "zero_grad",
        _X,
        "t.grad.zero_(): zero the accumulated gradient in place",
        function=False,
        method=False,
        operator="a.grad.zero_()",
        capability="grad-accumulation",
    ),
    _autograd(
        "clear_grad",
        _X,
        "t.grad = None",
        function=False,
        method=False,
        operator="a.grad = None",
        capability="grad-accumulation",
    ),
)

OPS: dict[str, OpSpec] = {spec.name: spec for spec in _SPECS}


@dataclass(frozen=True)
class GradModeSpec:
    """A ``with MODE(...):`` block: its name, argument and the backend mode it enters."""

    name: str
    enabled: bool | None  # whether it records gradients; None: given by its one bool argument
    capability: str
    doc: str

    def signature(self) -> str:
        return f"{self.name}(mode)" if self.enabled is None else f"{self.name}()"


GRAD_MODES: dict[str, GradModeSpec] = {
    spec.name: spec
    for spec in (
        GradModeSpec("no_grad", False, "grad-mode", "operations inside record no graph"),
        GradModeSpec("enable_grad", True, "grad-mode", "recording on again (inside no_grad)"),
        GradModeSpec(
            "set_grad_enabled",
            None,
            "grad-mode",
            "no_grad for False, enable_grad for True; mode must be the constant True or False",
        ),
        GradModeSpec(
            "inference_mode",
            False,
            "inference-mode",
            "no graph, and the tensors made inside are inference tensors",
        ),
    )
}


def backend_grad_mode(name: str, enabled: bool | None) -> str:
    """The mode name ``Backend.grad_mode`` receives: set_grad_enabled becomes one of the others."""
    if name == "set_grad_enabled":
        return "enable_grad" if enabled else "no_grad"
    return name


BINARY_OPERATORS = {
    "Add": "add",
    "Sub": "sub",
    "Mult": "mul",
    "Div": "div",
    "Pow": "pow",
    "MatMult": "matmul",
}
# x += y and the like: torch's meaning for tensors, an in-place update of x itself.
AUGMENTED_OPERATORS = {"Add": "add_", "Sub": "sub_", "Mult": "mul_", "Div": "div_"}
COMPARE_OPERATORS = {"Lt": "lt", "LtE": "le", "Gt": "gt", "GtE": "ge", "Eq": "eq", "NotEq": "ne"}

# The method form of backward names its first arguments differently.
BACKWARD_METHOD_PARAMS = ("gradient", "retain_graph", "create_graph", "inputs")


def function_names() -> frozenset[str]:
    return frozenset(name for name, spec in OPS.items() if spec.function)


def method_names() -> frozenset[str]:
    return frozenset(name for name, spec in OPS.items() if spec.method)


# Documentation ------------------------------------------------------------

_GROUP_ORDER = (
    "arithmetic",
    "comparison",
    "elementwise",
    "activation",
    "reduction",
    "scan",
    "indexing",
    "linear algebra",
    "shape",
    "dtype",
    "creation",
    "in-place",
    "autograd",
)

_STATEMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("`y = expr`", "assignment", "binds a name to the value of an expression", ""),
    (
        "`v, i = expr`",
        "unpacking",
        "binds names to the items of a tuple, e.g. `gx, gy = grad(z, [x, y])`",
        "",
    ),
    ("`y.backward()`", "call", "an expression statement must be a call", ""),
    ("`x[index] = v`", "index assignment", "the operation setitem", "in-place"),
    (
        "`x += y` (also `-=`, `*=`, `/=`)",
        "augmented assignment",
        "the in-place operation add_ (sub_, mul_, div_) on the tensor x itself, as in torch;"
        " the target must be a name (`x[i] += y` is not part of the language)",
        "in-place",
    ),
    ("`x.grad = None`", "clear .grad", "the operation clear_grad", "grad-accumulation"),
    ("`x.grad.zero_()`", "zero .grad", "the operation zero_grad", "grad-accumulation"),
    (
        "`with no_grad():` / `with enable_grad():`",
        "grad-mode block",
        "the indented statements run in that mode; blocks nest",
        "grad-mode",
    ),
    (
        "`with set_grad_enabled(False):`",
        "grad-mode block",
        "the argument must be the constant True or False: the backend enters"
        " enable_grad or no_grad",
        "grad-mode",
    ),
    (
        "`with inference_mode():`",
        "grad-mode block",
        "the indented statements run in inference mode",
        "inference-mode",
    ),
    (
        "`h = x.register_hook(lambda g: g * 2)`",
        "hook",
        "a lambda of one parameter and one expression, allowed only as the argument of"
        " register_hook; its parameter is a name only inside its body, which may use"
        " every name assigned so far; returns a handle, `h.remove()` unregisters it",
        "hooks",
    ),
)


def _forms(spec: OpSpec) -> str:
    forms = []
    if spec.function:
        forms.append("function")
    if spec.method:
        forms.append("method")
    if spec.operator is not None:
        forms.append(f"operator `{spec.operator}`")
    return ", ".join(forms)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_vocabulary_markdown() -> str:
    """The text of docs/vocabulary.md, rendered from the tables of this module."""
    lines = [
        "# The step language's vocabulary",
        "",
        "<!-- Rendered by conformance.language.vocabulary.render_vocabulary_markdown();"
        " a test keeps this file equal to it. -->",
        "",
        "Steps are Python statements restricted to this vocabulary; anything else is a load"
        " error naming its line and column. Every call is bound to its signature when the case"
        " loads: arguments may be given by position or by keyword, an unknown keyword is an"
        " error, and the backend receives the arguments in signature order with the defaults"
        " filled in (`Backend.op(name, *args)` for the operations, Backend methods for"
        " autograd, `Backend.tensor` for the constants). A variadic parameter (`*shape`) takes"
        " the remaining positional arguments or one tuple: `x.reshape(2, 3)` or"
        " `x.reshape((2, 3))`. Constants are literal numbers, True, False and None; a string"
        " literal may appear only as an argument of a call (einsum's equation, gelu's"
        " approximate). Constants"
        " made by the creation functions take the case's floating dtype and do not require"
        " grad unless `requires_grad=True` is passed.",
        "",
        "## Operations",
        "",
        "| name | forms | signature | category | meaning | capability |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for group in _GROUP_ORDER:
        for spec in _SPECS:
            if spec.group != group:
                continue
            lines.append(
                f"| `{spec.name}` | {_forms(spec)} | `{spec.signature()}` | {spec.group}"
                f" | {_cell(spec.doc)} | {spec.capability or ''} |"
            )
    for mode in GRAD_MODES.values():
        lines.append(
            f"| `{mode.name}` | `with` block | `{mode.signature()}` | grad mode"
            f" | {_cell(mode.doc)} | {mode.capability} |"
        )
    lines += [
        "",
        "## Statements",
        "",
        "| form | kind | meaning | capability |",
        "| --- | --- | --- | --- |",
    ]
    for form, kind, meaning, capability in _STATEMENTS:
        lines.append(f"| {form} | {kind} | {_cell(meaning)} | {capability} |")
    lines += [
        "",
        "Attributes read are only `.T` and `.grad`. Nothing else of Python is part of the"
        " language: no imports, loops, conditionals, function definitions, comprehensions,"
        " names starting with `_`, a string anywhere but as the argument of a call, and a"
        " lambda anywhere but as the argument of `register_hook`.",
        "",
    ]
    return "\n".join(lines)
