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
]

# The torch counterparts of the creation functions, for the same comparison.
TORCH_CREATION: dict[str, Callable[..., Any]] = {
    "ones": lambda shape, requires_grad: torch.ones(*shape, dtype=torch.float64),
    "zeros": lambda shape, requires_grad: torch.zeros(*shape, dtype=torch.float64),
    "full": lambda shape, fill, requires_grad: torch.full(shape, fill, dtype=torch.float64),
    "arange": lambda end, requires_grad: torch.arange(end, dtype=torch.float64),
    "eye": lambda n, requires_grad: torch.eye(n, dtype=torch.float64),
    "tensor": lambda data, requires_grad: torch.tensor(data),
}
CREATION_SAMPLES: list[tuple[str, list[Any]]] = [
    ("ones", [(2, 3), False]),
    ("zeros", [(4,), False]),
    ("full", [(2, 2), 7.5, False]),
    ("arange", [5, False]),
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
        ("y = x.double().float().long()", set()),
        ("y = ones(2) + x", set()),
    ],
)
def test_capability_inference(source: str, expected: set[str]) -> None:
    program = compile_steps(source, ("x",))
    assert infer_capabilities(program, (), False) == expected


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
