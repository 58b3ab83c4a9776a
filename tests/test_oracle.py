"""The oracle on functions whose derivatives are known by hand.

Each expected number below is derived in the comment next to it (calculus on
paper), never read off the oracle or an autograd engine.
"""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Callable

import numpy as np
import pytest

from conformance.model import Case
from conformance.oracle import OracleTensor, evaluate_case, read_orders, step_size
from conformance.oracle.evaluate import SECOND_STEP

LoadCase = Callable[[str], Case]


def case_text(inputs: str, steps: str, expect: str = "y: {shape: []}") -> str:
    """A one-case file around the given inputs, steps and expectations (indented YAML)."""
    indent = "\n" + " " * 6
    inputs, steps, expect = (textwrap.dedent(text).strip() for text in (inputs, steps, expect))
    return (
        'schema_version: "1.0"\n'
        "cases:\n"
        "  - id: probe\n"
        "    description: A program the oracle evaluates in a test.\n"
        "    kind: math\n"
        "    inputs:\n      " + indent.join(inputs.strip().splitlines()) + "\n"
        "    steps: |\n      " + indent.join(steps.strip().splitlines()) + "\n"
        "    expect:\n      " + indent.join(expect.strip().splitlines()) + "\n"
    )


def oracle(load_case: LoadCase, inputs: str, steps: str, expect: str = "") -> dict[str, object]:
    case = load_case(case_text(inputs, steps, expect or _first_name(textwrap.dedent(steps))))
    outcome = evaluate_case(case)
    assert outcome.stopped is None, outcome.stopped
    return outcome.env


def _first_name(steps: str) -> str:
    return steps.strip().split("=")[0].strip().split(",")[0].strip() + ": {shape: []}"


def value(env: dict[str, object], name: str) -> np.ndarray:
    tensor = env[name]
    assert isinstance(tensor, OracleTensor)
    return tensor.array


def test_forward_values_are_numpy_in_float64(load_case: LoadCase) -> None:
    env = oracle(load_case, "x: {value: [0.5, -1.5, 2.0]}", "y = x ** 3 - 2 * x")
    # 0.125 - 1 = -0.875; -3.375 + 3 = -0.375; 8 - 4 = 4
    assert value(env, "y").dtype == np.float64
    np.testing.assert_allclose(value(env, "y"), [-0.875, -0.375, 4.0], rtol=0, atol=1e-15)


def test_polynomial_gradient(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: [0.5, -1.5, 2.0], requires_grad: true}",
        "g = grad(sum(x ** 3 - 2 * x), x)[0]",
    )
    # d/dx (x^3 - 2x) = 3x^2 - 2: 0.75 - 2, 6.75 - 2, 12 - 2
    np.testing.assert_allclose(value(env, "g"), [-1.25, 4.75, 10.0], rtol=0, atol=1e-9)


def test_exp_gradient(load_case: LoadCase) -> None:
    env = oracle(
        load_case, "x: {value: [0.3, -1.2], requires_grad: true}", "g = grad(sum(exp(x)), x)[0]"
    )
    np.testing.assert_allclose(value(env, "g"), [math.exp(0.3), math.exp(-1.2)], atol=1e-9)


def test_matmul_gradients_are_vector_jacobian_products(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        """
        A: {value: [[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]], requires_grad: true}
        B: {value: [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad: true}
        """,
        """
        C = A @ B
        gA, gB = grad(C, [A, B], grad_outputs=tensor([[1.0, 0.0], [0.0, 2.0]]))
        """,
    )
    # For C = A B and cotangent V: dA = V B^T, dB = A^T V.
    # V B^T = [[1, 3, 5], [4, 8, 12]]; A^T V = [[1, 0], [0, 2], [2, -2]]
    np.testing.assert_allclose(value(env, "gA"), [[1, 3, 5], [4, 8, 12]], atol=1e-8)
    np.testing.assert_allclose(value(env, "gB"), [[1, 0], [0, 2], [2, -2]], atol=1e-8)


def test_second_derivative(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: 2.0, requires_grad: true}",
        """
        g = grad(x ** 3, x, create_graph=True)[0]
        h = grad(g, x)[0]
        """,
    )
    # 3x^2 = 12, 6x = 12
    assert value(env, "g") == pytest.approx(12.0, abs=1e-8)
    assert value(env, "h") == pytest.approx(12.0, abs=1e-6)


def test_mixed_second_partials(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        """
        x: {value: 2.0, requires_grad: true}
        y: {value: 3.0, requires_grad: true}
        """,
        """
        gx, gy = grad(x ** 2 * y ** 3, [x, y], create_graph=True)
        gxy = grad(gx, y)[0]
        """,
    )
    # gx = 2 x y^3 = 108, gy = 3 x^2 y^2 = 108, d/dy gx = 6 x y^2 = 108
    assert value(env, "gx") == pytest.approx(108.0, rel=1e-9)
    assert value(env, "gy") == pytest.approx(108.0, rel=1e-9)
    assert value(env, "gxy") == pytest.approx(108.0, rel=1e-7)


def test_third_derivative(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: [0.7, -0.4], requires_grad: true}",
        """
        g1 = grad(sum(sin(x)), x, create_graph=True)[0]
        g2 = grad(sum(g1), x, create_graph=True)[0]
        g3 = grad(sum(g2), x)[0]
        """,
    )
    # sin -> cos -> -sin -> -cos
    np.testing.assert_allclose(value(env, "g3"), [-math.cos(0.7), -math.cos(-0.4)], atol=1e-6)


def test_backward_accumulates_into_leaves(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: [1.0, -2.0], requires_grad: true}",
        """
        y = sum(x ** 2)
        y.backward(retain_graph=True)
        y.backward()
        """,
    )
    x = env["x"]
    assert isinstance(x, OracleTensor) and x.grad is not None
    # twice 2x
    np.testing.assert_allclose(x.grad.array, [4.0, -8.0], atol=1e-8)


def test_backward_inputs_restricts_and_retain_grad_keeps_nonleaf(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        """
        x: {value: 3.0, requires_grad: true}
        w: {value: 2.0, requires_grad: true}
        """,
        """
        h = x * w
        h.retain_grad()
        y = h ** 2
        y.backward(inputs=[x, h])
        """,
    )
    x, w, h = env["x"], env["w"], env["h"]
    assert isinstance(x, OracleTensor) and isinstance(w, OracleTensor)
    assert isinstance(h, OracleTensor) and x.grad is not None and h.grad is not None
    # dy/dh = 2h = 12; dy/dx = 2h w = 24; w is not among the inputs
    assert h.grad.array == pytest.approx(12.0, abs=1e-8)
    assert x.grad.array == pytest.approx(24.0, abs=1e-8)
    assert w.grad is None


def test_detached_and_no_grad_values_are_constants(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: 3.0, requires_grad: true}",
        """
        with no_grad():
            c = x * 2
        g1 = grad(x * x.detach(), x)[0]
        g2 = grad(c * x, x)[0]
        """,
        "g2: {shape: []}",
    )
    # d/dx (x * const(x)) = x = 3; d/dx (const(2x) * x) = 2x = 6
    assert value(env, "g1") == pytest.approx(3.0, abs=1e-9)
    assert value(env, "g2") == pytest.approx(6.0, abs=1e-9)


def test_gradient_without_create_graph_is_a_constant(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: 3.0, requires_grad: true}",
        """
        g = grad(x ** 2, x)[0]
        h = grad(g * x, x)[0]
        """,
    )
    # g = 2x = 6 carries no graph, so d/dx (g x) = g = 6 (not 4x = 12)
    assert value(env, "h") == pytest.approx(6.0, abs=1e-9)


def test_derivative_is_taken_at_the_version_after_an_in_place_write(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x0: {value: [0.0, 0.0], requires_grad: true}",
        """
        x = x0 * 1
        x[0] = 3.0
        g = grad(sum(x ** 2), x)[0]
        """,
    )
    # x is [3, 0] after the write; 2x = [6, 0]
    np.testing.assert_allclose(value(env, "g"), [6.0, 0.0], atol=1e-9)


def test_hooks_mark_later_gradients_unjudged(load_case: LoadCase) -> None:
    env = oracle(
        load_case,
        "x: {value: 1.0, requires_grad: true}",
        """
        h = x.register_hook(lambda g: g * 2)
        g = grad(x * 3, x)[0]
        """,
    )
    g = env["g"]
    assert isinstance(g, OracleTensor)
    assert g.unjudged is not None and "hook" in g.unjudged


def test_a_failing_step_stops_the_oracle_with_its_line(load_case: LoadCase) -> None:
    case = load_case(
        case_text(
            "x: {value: [1.0, 2.0], requires_grad: true}",
            "y = x * 2\ng = grad(y, x)[0]",
            "y: {shape: [2]}",
        )
    )
    outcome = evaluate_case(case)
    assert outcome.stopped is not None
    line, reason = outcome.stopped
    assert line == 2 and "one-element" in reason
    assert "y" in outcome.env and "g" not in outcome.env


def test_two_step_sizes_agree_closely_on_smooth_functions(load_case: LoadCase) -> None:
    case = load_case(
        case_text(
            "x: {value: [0.3, 1.1], requires_grad: true}",
            "g = grad(sum(exp(x) * sin(x)), x, create_graph=True)[0]\nh = grad(sum(g), x)[0]",
            "h: {shape: [2]}",
        )
    )
    first, second = evaluate_case(case), evaluate_case(case, SECOND_STEP)
    a, b = first.env["h"], second.env["h"]
    assert isinstance(a, OracleTensor) and isinstance(b, OracleTensor)
    # (e^x sin x)'' = 2 e^x cos x
    exact = [2 * math.exp(v) * math.cos(v) for v in (0.3, 1.1)]
    np.testing.assert_allclose(a.array, exact, atol=1e-7)
    assert float(np.max(np.abs(a.array - b.array))) < 1e-6


def test_step_size_grows_with_the_order(load_case: LoadCase) -> None:
    assert step_size(1) < step_size(2) < step_size(3)
    case = load_case(
        case_text(
            "x: {value: 1.0, requires_grad: true}",
            "a = grad(x ** 4, x, create_graph=True)[0]\nb = grad(a, x, create_graph=True)[0]\n"
            "c = grad(b, x)[0]",
            "c: {shape: []}",
        )
    )
    orders = read_orders(case.program)
    assert orders.max_order == 3
    assert ("pow", 3) in orders.reached and ("pow", 0) in orders.reached


def test_the_oracle_does_not_import_torch() -> None:
    import subprocess

    code = (
        "import sys, conformance.oracle, conformance.validate, conformance.coverage;"
        " sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
