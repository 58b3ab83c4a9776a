"""The vocabulary table, its two implementations (numpy and torch), its documentation and forms.

numpy_ops is the oracle's ground truth; torch is an independent implementation
of the same operations, so agreement between the two on random inputs checks
numpy_ops rather than restating it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.backend import Backend
from conformance.capabilities import CAPABILITIES, infer_capabilities
from conformance.language import StepSyntaxError, compile_steps, ir
from conformance.language.vocabulary import (
    GRAD_MODES,
    OPS,
    Category,
    render_vocabulary_markdown,
)
from conformance.model import Case
from conformance.numpy_ops import NUMPY_OPS
from conformance.runner import Outcome, RunOptions, run_case

torch = pytest.importorskip("torch")
from conformance.adapters.torch_backend import TorchBackend  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LoadCase = Callable[[str], Case]


# The table and its documentation ------------------------------------------


def test_the_documentation_is_the_rendered_table() -> None:
    written = (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    assert written == render_vocabulary_markdown(), (
        "docs/vocabulary.md is stale: write render_vocabulary_markdown() to it"
    )


def test_the_documentation_lists_every_name() -> None:
    text = render_vocabulary_markdown()
    for name in [*OPS, *GRAD_MODES]:
        assert f"| `{name}` |" in text, name


def test_every_tensor_operation_has_a_torch_entry() -> None:
    tensor_ops = {name for name, spec in OPS.items() if spec.category is Category.TENSOR}
    assert sorted(tensor_ops - set(TorchBackend.OPS)) == []
    assert sorted(set(TorchBackend.OPS) - tensor_ops) == []


def test_every_tensor_and_creation_operation_has_a_numpy_entry() -> None:
    computed = {name for name, spec in OPS.items() if spec.category is not Category.AUTOGRAD}
    assert sorted(computed - set(NUMPY_OPS)) == []
    assert sorted(set(NUMPY_OPS) - computed) == []


def test_capabilities_named_by_the_table_exist_and_match_the_schema() -> None:
    named = {spec.capability for spec in OPS.values() if spec.capability is not None}
    named |= {spec.capability for spec in GRAD_MODES.values()}
    assert sorted(named - set(CAPABILITIES)) == []
    schema = json.loads((ROOT / "conformance" / "schema" / "case.schema.json").read_text())
    enums = [
        node["enum"]
        for node in _walk_json(schema)
        if isinstance(node, dict) and "hooks" in node.get("enum", [])
    ]
    assert enums, "the schema has no capability enum"
    assert all(sorted(enum) == sorted(CAPABILITIES) for enum in enums)


def _walk_json(node: Any) -> list[Any]:
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        found.extend(_walk_json(child))
    return found


class _Recorder(Backend):
    """Records which Backend method each autograd operation reaches."""

    name = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.called: list[str] = []

    def tensor(self, array: np.ndarray, requires_grad: bool) -> Any:
        return array

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return np.asarray(tensor)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, np.ndarray)

    def grad(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        self.called.append("grad")
        return ()

    def backward(self, *args: Any) -> None:
        self.called.append("backward")

    def get_grad(self, tensor: Any) -> Any:
        self.called.append("get_grad")

    def zero_grad(self, tensor: Any) -> None:
        self.called.append("zero_grad")

    def clear_grad(self, tensor: Any) -> None:
        self.called.append("clear_grad")

    def detach(self, tensor: Any) -> Any:
        self.called.append("detach")

    def requires_grad_(self, tensor: Any, requires_grad: bool) -> Any:
        self.called.append("requires_grad_")

    def retain_grad(self, tensor: Any) -> None:
        self.called.append("retain_grad")

    def register_hook(self, tensor: Any, hook: Any) -> Any:
        self.called.append("register_hook")

    def remove_hook(self, handle: Any) -> None:
        self.called.append("remove")


def test_every_autograd_operation_reaches_a_backend_method(load_case: LoadCase) -> None:
    from conformance.runner import _Interpreter

    case = load_case(
        textwrap.dedent(
            """\
            schema_version: "1.0"
            cases:
              - id: probe
                description: A case that only provides an interpreter.
                kind: math
                inputs:
                  x: {value: 1.0}
                steps: |
                  y = x
                expect:
                  y: {value: 1.0}
            """
        )
    )
    recorder = _Recorder()
    interpreter = _Interpreter(recorder, case, RunOptions())
    autograd_ops = sorted(name for name, spec in OPS.items() if spec.category is Category.AUTOGRAD)
    for name in autograd_ops:
        interpreter.autograd(name, [None] * len(OPS[name].params))
    assert sorted(recorder.called) == autograd_ops


# numpy_ops against torch ---------------------------------------------------

_RNG = np.random.default_rng(20240607)
_M = _RNG.standard_normal((3, 4))
_N = _RNG.standard_normal((3, 4))
_POS = _RNG.uniform(0.5, 2.0, (3, 4))
_UNIT = _RNG.uniform(-0.9, 0.9, (3, 4))
_HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6])
_INDEX = np.array([[0, 3, 3], [1, 0, 2], [2, 2, 1]])
_ROWS = np.array([2, 0, 2])
_MASK = _M > 0

# Each sample: the operation and its arguments in vocabulary order.
SAMPLES: list[tuple[str, list[Any]]] = [
    ("add", [_M, _N]),
    ("pow", [_POS, _N]),
    ("pow", [_M, 3]),
    ("sign", [np.array([-2.0, 0.0, 3.0])]),
    ("square", [_M]),
    ("reciprocal", [_POS]),
    ("log1p", [_POS]),
    ("expm1", [_M]),
    ("tan", [_UNIT]),
    ("asin", [_UNIT]),
    ("atan", [_M]),
    ("sinh", [_M]),
    ("cosh", [_M]),
    ("floor", [_M * 3]),
    ("round", [_HALVES]),
    ("maximum", [_M, _N]),
    ("minimum", [_M, _N[0]]),
    ("clamp", [_M, -0.5, 0.5]),
    ("clamp", [_M, None, 0.0]),
    ("clamp", [_M, _N, None]),
    ("where", [_MASK, _M, _N]),
    ("max", [_M, None, False]),
    ("max", [_M, 1, False]),
    ("max", [_M, 0, True]),
    ("min", [_M, None, False]),
    ("min", [_M, -1, False]),
    ("amax", [_M, None, False]),
    ("amax", [_M, (0, 1), True]),
    ("amin", [_M, 1, False]),
    ("prod", [_M, None, False]),
    ("prod", [_M, 1, True]),
    ("var", [_M, None, 1, False]),
    ("var", [_M, 1, 0, True]),
    ("std", [_M, 0, 1, False]),
    ("norm", [_M, 2, None, False]),
    ("norm", [_M, 1, 1, True]),
    ("norm", [_M, 3, (0, 1), False]),
    ("logsumexp", [_M * 50, 1, False]),
    ("logsumexp", [_M, (0, 1), True]),
    ("softmax", [_M * 50, 1]),
    ("log_softmax", [_M, 0]),
    ("gather", [_M, 1, _INDEX]),
    ("gather", [_M, 0, _INDEX[:2, :3] % 3]),
    ("index_select", [_M, 0, _ROWS]),
    ("index_select", [_M, 1, _ROWS]),
    ("scatter", [_M, 1, np.array([[3, 0], [1, 2], [2, 1]]), _N]),
    ("scatter", [_M, 0, np.array([[2, 0, 1, 1]]), 5.0]),
    ("index_add", [_M, 0, _ROWS, _N]),
    ("index_add", [_M, 1, np.array([3, 3, 0]), _N[:, :3]]),
    ("masked_fill", [_M, _MASK, 0.0]),
    ("embedding", [np.array([[1, 2, 1], [0, 0, 2]]), _M]),
    ("getitem", [_M, (_MASK,)]),
    ("getitem", [_M, (slice(None), np.array([3, 0, 3]))]),
    ("view", [_M, (4, 3)]),
    ("view", [_M, ((2, 6),)]),
    ("expand", [_M[:, :1], (3, 5)]),
    ("expand", [_M[0], (2, -1)]),
    ("unsqueeze", [_M, 1]),
    ("squeeze", [_M[None, :, None, :], None]),
    ("squeeze", [_M[None, :, None, :], 2]),
    ("squeeze", [_M, 0]),
    ("permute", [_M[None], (2, 0, 1)]),
    ("flatten", [_M[None], 0, -1]),
    ("flatten", [np.array(3.0), 0, -1]),
    ("clone", [_M]),
    ("double", [_M]),
    ("float", [_M]),
    ("long", [_M * 3]),
    ("add_", [_M, _N[0]]),
    ("sub_", [_M, _N]),
    ("mul_", [_M, 2.0]),
    ("div_", [_M, _POS]),
    ("exp_", [_M]),
    ("zero_", [_M]),
    ("fill_", [_M, 1.5]),
    ("clamp_", [_M, -0.1, 0.2]),
    ("copy_", [_M, _N[1]]),
    ("ceil", [_M * 3]),
    ("trunc", [_M * 3]),
    ("log2", [_POS]),
    ("log10", [_POS]),
    ("exp2", [_M]),
    ("erf", [_M * 2]),
    ("atan2", [_M, _N]),
    ("softplus", [_M * 10, 1, 20]),
    ("softplus", [_M * 10, 2.0, 5.0]),
    ("gelu", [_M * 3, "none"]),
    ("gelu", [_M * 3, "tanh"]),
    ("silu", [_M * 3]),
    ("leaky_relu", [_M, 0.01]),
    ("leaky_relu", [_M, 0.2]),
    ("elu", [_M * 3, 1.0]),
    ("elu", [_M * 3, 0.5]),
    ("logsigmoid", [_M * 30]),
    ("cumsum", [_M, 1]),
    ("cumsum", [_M, 0]),
    ("cumprod", [_M, -1]),
    ("argmax", [_M, None, False]),
    ("argmax", [_M, None, True]),
    ("argmax", [_M, 1, False]),
    ("argmin", [_M, 0, True]),
    ("sort", [_M, -1, False]),
    ("sort", [_M, 0, True]),
    ("topk", [_M, 2, -1, True, True]),
    ("topk", [_M, 2, 0, False, True]),
    ("masked_select", [_M, _MASK]),
    ("masked_select", [_M, _MASK[0]]),
    ("dot", [_M[0], _N[0]]),
    ("mm", [_M, _N.T]),
    ("bmm", [_M.reshape(2, 3, 2), _N.reshape(2, 2, 3)]),
    ("mv", [_M, _N[0]]),
    ("outer", [_M[0], _N[1]]),
    ("trace", [_M]),
    ("diag", [_M, 0]),
    ("diag", [_M, 1]),
    ("diag", [_M[0], -1]),
    ("tril", [_M, 0]),
    ("triu", [_M, -1]),
    ("einsum", ["ij,kj->ik", (_M, _N)]),
    ("einsum", ["ii", (_M[:, :3],)]),
    ("einsum", ["bij,bjk->bik", (_M.reshape(2, 3, 2), _N.reshape(2, 2, 3))]),
    ("flip", [_M, (0,)]),
    ("flip", [_M, [0, 1]]),
    ("roll", [_M, 1, None]),
    ("roll", [_M, (1, -2), (0, 1)]),
    ("repeat", [_M[0], (2, 3)]),
    ("repeat", [_M, (2, 1)]),
    ("t", [_M]),
    ("t", [_M[0]]),
    ("narrow", [_M, 1, 1, 2]),
    ("narrow", [_M, 0, -2, 2]),
    ("unbind", [_M, 0]),
    ("unbind", [_M, 1]),
    ("split", [_M, 3, 1]),
    ("split", [_M, [1, 2], 0]),
    ("chunk", [_M, 3, 1]),
    ("chunk", [_M, 2, 0]),
]

# The torch counterparts of the creation functions, for the same comparison.
TORCH_CREATION: dict[str, Callable[..., Any]] = {
    "ones": lambda shape, requires_grad: torch.ones(*shape, dtype=torch.float64),
    "zeros": lambda shape, requires_grad: torch.zeros(*shape, dtype=torch.float64),
    "full": lambda shape, fill, requires_grad: torch.full(shape, fill, dtype=torch.float64),
    "arange": lambda start, end, step, requires_grad: (
        torch.arange(start, dtype=torch.float64)
        if end is None
        else torch.arange(start, end, step, dtype=torch.float64)
    ),
    "eye": lambda n, requires_grad: torch.eye(n, dtype=torch.float64),
    "tensor": lambda data, requires_grad: torch.tensor(data),
}
CREATION_SAMPLES: list[tuple[str, list[Any]]] = [
    ("ones", [(2, 3), False]),
    ("zeros", [(4,), False]),
    ("full", [(2, 2), 7.5, False]),
    ("arange", [5, None, 1, False]),
    ("arange", [2, 7, 1, False]),
    ("arange", [1.0, 2.0, 0.25, False]),
    ("arange", [5, 0, -2, False]),
    ("eye", [3, False]),
    ("tensor", [[True, False, True], False]),
]


def _to_torch(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, tuple):
        return tuple(_to_torch(item) for item in value)
    return value


def _to_numpy(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return tuple(_to_numpy(item) for item in value)
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _assert_same(got_numpy: Any, got_torch: Any) -> None:
    if isinstance(got_torch, tuple):
        assert isinstance(got_numpy, tuple) and len(got_numpy) == len(got_torch)
        for numpy_item, torch_item in zip(got_numpy, got_torch, strict=True):
            _assert_same(numpy_item, torch_item)
        return
    got_numpy = np.asarray(got_numpy)
    assert got_numpy.shape == got_torch.shape
    assert got_numpy.dtype == got_torch.dtype
    np.testing.assert_allclose(got_numpy, got_torch, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "args"),
    [pytest.param(name, args, id=f"{name}-{i}") for i, (name, args) in enumerate(SAMPLES)],
)
def test_numpy_ops_agree_with_torch(name: str, args: list[Any]) -> None:
    numpy_args = [np.array(arg) if isinstance(arg, np.ndarray) else arg for arg in args]
    got_numpy = NUMPY_OPS[name](*numpy_args)
    got_torch = _to_numpy(TorchBackend.OPS[name](*(_to_torch(arg) for arg in args)))
    _assert_same(_to_numpy(got_numpy), got_torch)


@pytest.mark.parametrize(("name", "args"), CREATION_SAMPLES, ids=[s[0] for s in CREATION_SAMPLES])
def test_numpy_creation_agrees_with_torch(name: str, args: list[Any]) -> None:
    _assert_same(np.asarray(NUMPY_OPS[name](*args)), TORCH_CREATION[name](*args).numpy())


def test_numpy_inplace_writes_into_its_input() -> None:
    x = np.array([1.0, 2.0])
    result = NUMPY_OPS["mul_"](x, 3.0)
    assert result is x
    assert x.tolist() == [3.0, 6.0]


def test_max_with_a_dim_returns_values_and_indices() -> None:
    values, indices = NUMPY_OPS["max"](np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 3.0]]), 1, False)
    assert values.tolist() == [5.0, 7.0]
    assert indices.tolist() == [1, 0]
    assert indices.dtype == np.int64


# The parser ----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "v, i = x.max(dim=0)",
        "m = max(x)",
        "y = amax(x, (0,), keepdim=True)",
        "y = x.var(correction=0)",
        "y = std(x, 0)",
        "y = x.norm(p=1)",
        "y = logsumexp(x, 0)",
        "y = softmax(x, dim=0) + log_softmax(x, 0)",
        "y = maximum(x, x * 2) + minimum(x, 0.0)",
        "y = clamp(x, min=0.0) + x.clamp(max=1.0)",
        "y = where(x > 0, x, zeros_like(x))",
        "y = x.sign() + square(x) + reciprocal(x) + log1p(x) + expm1(x)",
        "y = tan(x) + asin(x) + atan(x) + sinh(x) + cosh(x) + floor(x) + round(x)",
        "y = x ** x",
        "i = tensor([0, 1]).long()\ny = gather(x, 0, i) + x.index_select(0, i)",
        "i = tensor([0]).long()\ny = scatter(x, 0, i, 1.0) + x.index_add(0, i, x[:1])",
        "y = x.masked_fill(x > 0, 0.0) + x[x > 0].sum()",
        "w = ones(3, 2)\ny = embedding(tensor([1, 0]).long(), w)",
        "y = x.view(1, -1).expand(2, -1).unsqueeze(0).squeeze().permute(1, 0).flatten()",
        "y = x.clone().double().float()",
        "y = ones(2, requires_grad=True) + zeros((2,)) + full((2,), 3.0) + arange(2)\nz = eye(2)",
        "y = x * 1\ny.add_(1)\ny.sub_(x)\ny.mul_(2)\ny.div_(2)\ny.exp_()",
        "y = x * 1\ny.zero_()\ny.fill_(2.0)\ny.clamp_(0.0, 1.0)\ny.copy_(x)",
        "with set_grad_enabled(False):\n    y = x * 2",
        "with set_grad_enabled(mode=True):\n    y = x * 2",
        "with inference_mode():\n    y = x * 2",
        "h = x.register_hook(lambda g: g * 2)\nh.remove()",
        "s = x * 3\nh = x.register_hook(hook=lambda g: g + s)",
        "g = grad(x * 2, x, materialize_grads=True)",
        "y = cumsum(x, 0) + x.cumprod(dim=0) + flip(x, [0]) + roll(x, 1) + x.roll(1, dims=0)",
        "y = dot(x, x) + mm(x, x).trace() + diag(x, 1).sum() + tril(x).triu(diagonal=-1).sum()",
        "y = bmm(x, x).sum() + mv(x, x).sum() + outer(x, x).sum() + x.t().sum()",
        "y = x.repeat(2, 3) + x.narrow(0, 1, 2)",
        "a, b = unbind(x)\nc, d = x.split(2, dim=1)\ne, f = chunk(x, 2, 0)",
        "g = split(x, [1, 2])[0]",
        "i = argmax(x) + x.argmin(dim=0, keepdim=True)",
        "v, i = sort(x, descending=True)\nw, j = x.topk(2, dim=0, largest=False)",
        "y = ceil(x) + trunc(x) + log2(x) + log10(x) + exp2(x) + erf(x) + atan2(x, x)",
        "y = softplus(x, beta=2) + gelu(x) + gelu(x, approximate='tanh') + silu(x)",
        "y = leaky_relu(x, 0.2) + elu(x, alpha=0.5) + logsigmoid(x)",
        "y = masked_select(x, x > 0)",
        "y = einsum('ij,jk->ik', x, x) + einsum(\"ii\", x) + einsum('ij->', [x])",
        "y = arange(5) + arange(1, 6) + arange(0.0, 2.5, 0.5) + arange(start=2, end=7)",
        "y = x * 1\ny += x\ny -= 1\ny *= x\ny /= 2.0",
        "t = x * 2\nview = t.t()",
    ],
)
def test_the_new_forms_compile(source: str) -> None:
    program = compile_steps(source, ("x",))
    assert program.statements


def test_a_hook_compiles_to_a_lambda_whose_parameter_is_local() -> None:
    program = compile_steps("h = x.register_hook(lambda g: g * 2)", ("x",))
    statement = program.statements[0]
    assert isinstance(statement, ir.Assign)
    call = statement.value
    assert isinstance(call, ir.Call) and call.op == "register_hook"
    assert call.args[0] == ir.Name("x")
    assert call.args[1] == ir.Lambda("g", ir.Call("mul", (ir.Name("g"), ir.Const(2))))
    assert "g" not in program.assigned
    with pytest.raises(StepSyntaxError, match="unknown name 'g'") as info:
        compile_steps("h = x.register_hook(lambda g: g)\ny = g", ("x",))
    assert (info.value.line, info.value.column) == (2, 5)


def test_augmented_assignment_is_the_in_place_operation_on_the_name() -> None:
    program = compile_steps("y = x * 1\ny += x\ny /= 2.0", ("x",))
    assert program.statements[1] == ir.Assign(
        ("y",), False, ir.Call("add_", (ir.Name("y"), ir.Name("x"))), 2, "y += x"
    )
    assert program.statements[2] == ir.Assign(
        ("y",), False, ir.Call("div_", (ir.Name("y"), ir.Const(2.0))), 3, "y /= 2.0"
    )
    assert infer_capabilities(program, False) == {"in-place"}


def test_a_string_argument_is_a_constant_in_signature_order() -> None:
    program = compile_steps("y = einsum('ij->j', x)\nz = gelu(x, approximate='tanh')", ("x",))
    einsum, gelu = (statement.value for statement in program.statements)  # type: ignore[union-attr]
    assert einsum == ir.Call("einsum", (ir.Const("ij->j"), ir.TupleExpr((ir.Name("x"),))))
    assert gelu == ir.Call("gelu", (ir.Name("x"), ir.Const("tanh")))


def test_arange_binds_start_end_and_step() -> None:
    program = compile_steps("a = arange(3)\nb = arange(1, 2, 0.5)\nc = arange(end=4)", ())
    calls = [statement.value for statement in program.statements]  # type: ignore[union-attr]
    none, one, false = ir.Const(None), ir.Const(1), ir.Const(False)
    assert calls == [
        ir.Call("arange", (ir.Const(3), none, one, false)),
        ir.Call("arange", (ir.Const(1), ir.Const(2), ir.Const(0.5), false)),
        ir.Call("arange", (ir.Const(0), ir.Const(4), one, false)),
    ]


def test_set_grad_enabled_keeps_its_constant() -> None:
    program = compile_steps("with set_grad_enabled(False):\n    y = x * 2", ("x",))
    statement = program.statements[0]
    assert isinstance(statement, ir.GradMode)
    assert (statement.mode, statement.enabled) == ("set_grad_enabled", ir.Const(False))


def test_creation_binds_a_variadic_shape_and_requires_grad() -> None:
    program = compile_steps("y = ones(2, 3, requires_grad=True)", ())
    statement = program.statements[0]
    assert isinstance(statement, ir.Assign)
    shape = ir.TupleExpr((ir.Const(2), ir.Const(3)))
    assert statement.value == ir.Call("ones", (shape, ir.Const(True)))


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        pytest.param("y = x\nz = exp(lambda g: g)", 2, 9, "lambdas are not part", id="in-call"),
        pytest.param("f = lambda g: g", 1, 5, "except as the argument", id="assigned"),
        pytest.param("h = x.register_hook(lambda g: lambda k: k)", 1, 31, "lambdas", id="nested"),
        pytest.param(
            "h = x.register_hook(lambda g, k: g)", 1, 21, "exactly one plain parameter", id="two"
        ),
        pytest.param(
            "h = x.register_hook(lambda g=1: g)", 1, 21, "exactly one plain parameter", id="default"
        ),
        pytest.param("h = x.register_hook(x)", 1, 5, "a lambda", id="not-a-lambda"),
        pytest.param(
            "h = x.register_hook(lambda exp: exp)",
            1,
            28,
            "name of the vocabulary",
            id="vocabulary-param",
        ),
        pytest.param("y = x.max(dims=0)", 1, 5, "max() has no argument 'dims'", id="keyword"),
        pytest.param(
            "y = ones(2, require_grad=True)",
            1,
            5,
            "no argument 'require_grad'",
            id="creation-keyword",
        ),
        pytest.param("y = ones(x)", 1, 5, "literal numbers", id="creation-tensor"),
        pytest.param(
            "y = where(x > 0, x, x)\nz = x.where(x > 0, x)",
            2,
            5,
            "unknown method",
            id="where-method",
        ),
        pytest.param("y = float(x)", 1, 5, "unknown function 'float'", id="cast-function"),
        pytest.param(
            "with set_grad_enabled(x):\n    y = x", 1, 23, "constant True or False", id="mode-arg"
        ),
        pytest.param("with set_grad_enabled():\n    y = x", 1, 6, "exactly one", id="no-mode"),
        pytest.param("with inference_mode(False):\n    y = x", 1, 6, "no arguments", id="inf-arg"),
        pytest.param("y = 'ij'", 1, 5, "only as arguments of a call", id="string-value"),
        pytest.param("y = x + 'a'", 1, 9, "only as arguments of a call", id="string-operand"),
        pytest.param("y = x['a']", 1, 7, "only as arguments of a call", id="string-index"),
        pytest.param("y = [x, 'a']", 1, 9, "only as arguments of a call", id="string-list"),
        pytest.param("y = ones('a')", 1, 5, "literal numbers", id="string-creation"),
        pytest.param("y = x * 1\ny[0] += 1", 2, 1, "must be a name", id="aug-subscript"),
        pytest.param("y = x * 1\ny //= 2", 2, 1, "only +=, -=, *=, /=", id="aug-floordiv"),
        pytest.param("y = x * 1\ny @= x", 2, 1, "augmented assignment", id="aug-matmul"),
        pytest.param("z += x", 1, 1, "unknown name 'z'", id="aug-undefined"),
        pytest.param("y = x.t\nz = y", 1, 5, "attribute .t", id="t-attribute"),
        pytest.param("y = t(x)", 1, 5, "unknown function 't'", id="t-function"),
        pytest.param("y = repeat(x, 2)", 1, 5, "unknown function 'repeat'", id="repeat-function"),
        pytest.param("y = x.gelu()", 1, 5, "unknown method", id="activation-method"),
        pytest.param("dot = x", 1, 1, "name of the vocabulary", id="new-function-name"),
    ],
)
def test_rejections_name_line_and_column(
    source: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(StepSyntaxError) as info:
        compile_steps(source, ("x",))
    assert fragment in info.value.message
    assert (info.value.line, info.value.column) == (line, column)


# Capabilities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("y = x * 1\ny.add_(1)", {"in-place"}),
        ("y = x * 1\ny.clamp_(0.0, 1.0)", {"in-place"}),
        ("h = x.register_hook(lambda g: g * 2)", {"hooks"}),
        ("h = x.register_hook(lambda g: g.detach())", {"hooks", "detach"}),
        ("with inference_mode():\n    y = x * 2", {"inference-mode"}),
        ("with set_grad_enabled(False):\n    y = x * 2", {"grad-mode"}),
        (
            "with no_grad():\n    with inference_mode():\n        y = x",
            {"grad-mode", "inference-mode"},
        ),
        ("y = x.double().float().long()", {"float64"}),
        ("y = x.float().long()", set()),
        ("y = ones(2) + x", set()),
    ],
)
def test_capability_inference(source: str, expected: set[str]) -> None:
    program = compile_steps(source, ("x",))
    assert infer_capabilities(program, False) == expected


# Running the new forms ------------------------------------------------------


def _case(
    steps: str, expect: str, inputs: str = "x: {value: [1.0, 2.0], requires_grad: true}"
) -> str:
    indent = "\n      "
    return (
        'schema_version: "1.0"\n'
        "cases:\n"
        "  - id: probe\n"
        "    description: A case written by a test of the vocabulary.\n"
        "    kind: semantics\n"
        f"    inputs:\n      {inputs}\n"
        f"    steps: |\n      {steps.replace(chr(10), indent)}\n"
        f"    expect:\n      {expect.replace(chr(10), indent)}\n"
    )


def _run(load_case: LoadCase, text: str, dtype: str = "float32") -> list[str]:
    verdict = run_case(load_case(text), TorchBackend(), RunOptions(dtype=dtype))
    assert verdict.outcome is not Outcome.SKIPPED, verdict.reason
    return [str(mismatch) for mismatch in verdict.mismatches]


def test_a_hook_replaces_the_gradient_until_removed(load_case: LoadCase) -> None:
    # d/dx sum(3x) = 3; the hook adds s = 10 (a name from the steps): 13. Removed, the
    # second pass accumulates a plain 3: 16.
    text = _case(
        "s = tensor(10.0)\nh = x.register_hook(lambda g: g + s)\n(x * 3).sum().backward()\n"
        "first = x.grad * 1\nh.remove()\n(x * 3).sum().backward()",
        "first: {value: [13.0, 13.0]}\nx: {grad: [16.0, 16.0]}",
    )
    assert _run(load_case, text) == []


def test_an_error_inside_a_hook_is_pinned_to_the_backward_step(load_case: LoadCase) -> None:
    # The hook's body multiplies shapes (2,) and (3,), which cannot broadcast.
    text = _case(
        "w = ones(3)\nh = x.register_hook(lambda g: g * w)\n(x * 3).sum().backward()",
        "x: {grad: [3.0, 3.0]}",
    )
    problems = _run(load_case, text)
    assert len(problems) == 1
    assert "(x * 3).sum().backward()" in problems[0]


def test_grad_modes_by_set_grad_enabled_and_inference_mode(load_case: LoadCase) -> None:
    text = _case(
        "with set_grad_enabled(False):\n  a = x * 2\n  with set_grad_enabled(True):\n"
        "    b = x * 2\nwith inference_mode():\n  c = x * 2",
        "a: {requires_grad: false}\nb: {requires_grad: true}\nc: {requires_grad: false}",
    )
    assert _run(load_case, text) == []


def test_constants_take_the_run_dtype_and_masks_stay_boolean(load_case: LoadCase) -> None:
    from conformance.runner import _Interpreter

    text = _case(
        "c = ones(2, requires_grad=True)\nz = zeros(2)\nm = tensor([True, False])\n"
        "y = masked_fill(x, m, 0.0)",
        "c: {requires_grad: true, is_leaf: true}\nz: {requires_grad: false}\n"
        "y: {value: [0.0, 2.0]}",
    )
    case = load_case(text)
    assert _run(load_case, text, dtype="float64") == []
    interpreter = _Interpreter(TorchBackend(), case, RunOptions(dtype="float64"))
    interpreter.env["x"] = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    interpreter.run(case.program.statements)
    dtypes = {name: interpreter.env[name].dtype for name in ("c", "z", "m")}
    assert dtypes == {"c": torch.float64, "z": torch.float64, "m": torch.bool}


def test_materialize_grads_gives_zeros(load_case: LoadCase) -> None:
    # sum(2x) does not depend on z, so z's gradient is a zero tensor instead of None.
    text = _case(
        "gx, gz = grad(sum(x * 2), [x, z], materialize_grads=True)",
        "gx: {value: [2.0, 2.0]}\ngz: {value: [0.0, 0.0]}",
        inputs="x: {value: [1.0, 2.0], requires_grad: true}\n"
        "      z: {value: [1.0, 2.0], requires_grad: true}",
    )
    assert _run(load_case, text) == []


def test_augmented_assignment_updates_a_non_leaf_in_place(load_case: LoadCase) -> None:
    # y = 2x; y += x makes y = 3x in place: same object as alias, gradient 3 per element.
    text = _case(
        "y = x * 2\nalias = y\ny += x\ny.sum().backward()",
        "alias: {value: [3.0, 6.0]}\nx: {grad: [3.0, 3.0]}",
    )
    assert _run(load_case, text) == []


def test_augmented_assignment_on_a_leaf_that_requires_grad_raises(load_case: LoadCase) -> None:
    text = _case("x += 1", "x: {value: [1.0, 2.0]}")
    problems = _run(load_case, text)
    assert len(problems) == 1 and "x += 1" in problems[0]


def test_tuple_results_unpack_and_index(load_case: LoadCase) -> None:
    # sort descending of [1, 2] is values [2, 1] at indices [1, 0]; split(x, 1)[1] is [2].
    text = _case(
        "v, i = sort(x, descending=True)\nj = i * 1\nlast = split(x, 1)[1]\na = arange(1, 2, 0.5)",
        "v: {value: [2.0, 1.0]}\nj: {value: [1, 0]}\nlast: {value: [2.0]}\na: {value: [1.0, 1.5]}",
    )
    assert _run(load_case, text) == []
