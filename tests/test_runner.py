"""The runner: verdicts from running a case on a backend, and what each mismatch says.

Values are worked out by hand in the comments; torch is only the engine the
cases run on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import pytest

from conformance.backend import Backend
from conformance.errors import NotSupportedError
from conformance.model import Case
from conformance.runner import Outcome, RunOptions, Verdict, run_case

LoadCase = Callable[[str], Case]

torch = pytest.importorskip("torch")
from conformance.adapters.torch_backend import TorchBackend  # noqa: E402


def case_text(
    steps: str,
    expect: str,
    inputs: str = "x: {value: [1.0, 2.0], requires_grad: true}",
    extra: str = "",
    kind: str = "math",
) -> str:
    """A one-case file; ``steps`` start at line 9 when ``extra`` is empty."""
    indent = "\n      "
    return (
        'schema_version: "1.0"\n'
        "cases:\n"
        "  - id: probe\n"
        "    description: A case written by a test of the runner.\n"
        f"    kind: {kind}\n"
        + "".join(f"    {line}\n" for line in extra.splitlines())
        + f"    inputs:\n      {inputs.replace(chr(10), indent)}\n"
        f"    steps: |\n      {steps.replace(chr(10), indent)}\n"
        f"    expect:\n      {expect.replace(chr(10), indent)}\n"
    )


def run(
    load_case: LoadCase, backend: Backend, text: str, strict: bool = False, dtype: str = "float32"
) -> Verdict:
    return run_case(load_case(text), backend, RunOptions(dtype=dtype, strict=strict))


def messages(verdict: Verdict) -> list[str]:
    return [str(mismatch) for mismatch in verdict.mismatches]


def test_a_true_case_passes(load_case: LoadCase, torch_backend: Backend) -> None:
    # y = x1^2 + x2^2 = 5, dy/dx = 2x = [2, 4].
    text = case_text(
        "y = sum(x ** 2)\ng = grad(y, x)[0]",
        "y: {value: 5.0, grad_fn: true}\ng: {value: [2.0, 4.0], grad_fn: false}",
    )
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.PASSED, messages(verdict)
    assert verdict.mismatches == []


def test_wrong_value_fails_at_the_expectation_line(
    load_case: LoadCase, torch_backend: Backend
) -> None:
    text = case_text(
        "y = sum(x ** 2)\ng = grad(y, x)[0]", "y: {value: 5.0}\ng: {value: [2.0, 5.0]}"
    )
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.FAILED
    (mismatch,) = verdict.mismatches
    assert (mismatch.variable, mismatch.check, mismatch.line) == ("g", "value", 13)
    assert "worst at [1]: expected 5, got 4" in mismatch.message


def test_every_mismatch_is_reported(load_case: LoadCase, torch_backend: Backend) -> None:
    text = case_text(
        "y = sum(x ** 2)\ng = grad(y, x)[0]",
        "y: {value: 6.0, grad_fn: false}\ng: {value: [2.0, 4.0], shape: [1, 2], grad_fn: true}",
    )
    verdict = run(load_case, torch_backend, text)
    assert {(m.variable, m.check) for m in verdict.mismatches} == {
        ("y", "value"),
        ("y", "grad_fn"),
        ("g", "shape"),
        ("g", "grad_fn"),
    }
    text_of = {(m.variable, m.check): m.message for m in verdict.mismatches}
    assert text_of["y", "grad_fn"] == "expected no grad_fn, the backend reports one"
    assert text_of["g", "grad_fn"] == "expected a grad_fn, the backend reports none"
    assert text_of["g", "shape"] == "shape: expected (1, 2), got (2,)"


def test_case_tolerance_and_expectation_tolerance(
    load_case: LoadCase, torch_backend: Backend
) -> None:
    # sum(x) = 3 exactly; 3.25 is 0.25 off.
    loose = case_text("y = sum(x)", "y: {value: 3.25, atol: 0.25}")
    assert run(load_case, torch_backend, loose).outcome is Outcome.PASSED
    tight = case_text("y = sum(x)", "y: {value: 3.25, atol: 0.125}")
    assert run(load_case, torch_backend, tight).outcome is Outcome.FAILED
    case_level = case_text("y = sum(x)", "y: {value: 3.25}", extra="tolerance: {atol: 0.25}")
    assert run(load_case, torch_backend, case_level).outcome is Outcome.PASSED


def test_dtype_of_the_run_and_pinned_dtype(load_case: LoadCase, torch_backend: Backend) -> None:
    unpinned = case_text("y = x * 2", "y: {value: [2.0, 4.0]}")
    for dtype in ("float32", "float64"):
        assert run(load_case, torch_backend, unpinned, dtype=dtype).outcome is Outcome.PASSED
    pinned = case_text("y = x * 2", "y: {dtype: float64}", extra="dtype: float64")
    assert run(load_case, torch_backend, pinned, dtype="float32").outcome is Outcome.PASSED
    wrong = case_text("y = x * 2", "y: {dtype: float64}", extra="dtype: float32")
    verdict = run(load_case, torch_backend, wrong, dtype="float64")
    assert messages(verdict) == ["y: dtype: expected float64, got float32 (line 12)"]


def test_grad_of_leaves_after_backward(load_case: LoadCase, torch_backend: Backend) -> None:
    # backward twice accumulates: 2 * d(sum(3x))/dx = [6, 6]; a non-leaf's .grad stays None.
    text = case_text(
        "y = sum(x * 3)\ny.backward(retain_graph=True)\ny.backward()",
        "x: {grad: [6.0, 6.0]}\ny: {grad: null}",
    )
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.PASSED, messages(verdict)
    wrong = text.replace("[6.0, 6.0]", "[3.0, 3.0]")
    assert messages(run(load_case, torch_backend, wrong))[0].startswith("x: .grad ")


def test_expected_none_against_a_tensor(load_case: LoadCase, torch_backend: Backend) -> None:
    text = case_text("y = x * 1\ny.backward(ones_like(y))", "x: {grad: null}")
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.FAILED
    assert ".grad: expected None, got a tensor" in messages(verdict)[0]


def test_expected_error_at_its_line(load_case: LoadCase, torch_backend: Backend) -> None:
    # The second backward goes through the freed graph of x * x (mul saves its inputs).
    steps = "y = sum(x * x)\ny.backward()\ny.backward()"
    raises = "raises: {line: 3, misuse: freed-graph}"
    text = case_text(steps, "x: {grad: [2.0, 4.0]}", extra=raises)
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.PASSED, messages(verdict)
    assert verdict.raised is not None and verdict.raised.line == 3


def test_expected_error_that_does_not_come(load_case: LoadCase, torch_backend: Backend) -> None:
    steps = "y = sum(x * x)\ny.backward(retain_graph=True)\ny.backward()"
    text = case_text(steps, "x: {grad: [4.0, 8.0]}", extra="raises: {line: 3, misuse: freed-graph}")
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.FAILED
    (mismatch,) = verdict.mismatches
    assert mismatch.check == "error"
    assert mismatch.line == 12  # steps line 3, one lower for the raises key
    assert "`y.backward()` (steps line 3) to raise (freed-graph); it did not" in mismatch.message


def test_nothing_runs_or_is_judged_after_a_missing_error(
    load_case: LoadCase, torch_backend: Backend
) -> None:
    # Line 3 should raise and does not (the graph was retained). Line 4 would
    # raise (y.detach() is not in the graph), and x.grad = [4, 8] is not the
    # [2, 4] expected: both are knock-on effects, so only the missing error shows.
    steps = "y = sum(x * x)\ny.backward(retain_graph=True)\ny.backward()\ng = grad(y, y.detach())"
    text = case_text(steps, "x: {grad: [2.0, 4.0]}", extra="raises: {line: 3, misuse: freed-graph}")
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.FAILED
    (mismatch,) = verdict.mismatches
    assert "`y.backward()` (steps line 3) to raise (freed-graph); it did not" in mismatch.message
    assert verdict.raised is None


def test_error_at_another_line(load_case: LoadCase, torch_backend: Backend) -> None:
    # grad() of a tensor that needs no grad raises at line 2, not at the line named.
    steps = "y = x * 1\ng = grad(sum(y), y.detach())\nh = y * 2"
    text = case_text(
        steps, "y: {value: [1.0, 2.0]}", extra="raises: {line: 3, misuse: freed-graph}"
    )
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.FAILED
    (mismatch,) = verdict.mismatches
    assert "expected an error at `h = y * 2` (steps line 3, freed-graph)" in mismatch.message
    assert "(steps line 2) raised RuntimeError" in mismatch.message


def test_unexpected_error_names_the_step(load_case: LoadCase, torch_backend: Backend) -> None:
    text = case_text("y = x * 1\nz = y @ y @ y", "y: {value: [1.0, 2.0]}")
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.FAILED
    (mismatch,) = verdict.mismatches
    assert mismatch.line == 10
    assert mismatch.message.startswith("step `z = y @ y @ y` raised RuntimeError")


def test_strict_mode_checks_error_type_and_message(
    load_case: LoadCase, torch_backend: Backend
) -> None:
    steps = "y = sum(x * x)\ny.backward()\ny.backward()"
    raises = "raises: {line: 3, misuse: freed-graph, type: ValueError, match: 'no such message'}"
    text = case_text(steps, "x: {grad: [2.0, 4.0]}", extra=raises)
    assert run(load_case, torch_backend, text).outcome is Outcome.PASSED
    verdict = run(load_case, torch_backend, text, strict=True)
    assert verdict.outcome is Outcome.FAILED
    assert {m.message.split(":")[0] for m in verdict.mismatches} == {
        "exception type (strict)",
        "message (strict)",
    }


def test_grad_fn_name_checked_only_in_strict(load_case: LoadCase, torch_backend: Backend) -> None:
    text = case_text("y = x * 2", "y: {grad_fn_name: NotTheRightName}")
    portable = run(load_case, torch_backend, text)
    assert portable.outcome is Outcome.SKIPPED  # it checked nothing: not a pass
    assert "strict" in portable.reason
    verdict = run(load_case, torch_backend, text, strict=True)
    assert verdict.outcome is Outcome.FAILED
    assert "grad_fn name (strict): expected NotTheRightName" in messages(verdict)[0]


def test_torch_detail_case_runs_only_in_strict(load_case: LoadCase, torch_backend: Backend) -> None:
    text = case_text("y = x * 2", "y: {value: [2.0, 4.0]}", kind="torch-detail")
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.SKIPPED
    assert "strict" in verdict.reason
    assert run(load_case, torch_backend, text, strict=True).outcome is Outcome.PASSED


class NoHigherOrder(TorchBackend):
    """The reference engine, minus create_graph."""

    name = "no-higher-order"
    capabilities = TorchBackend.capabilities - {"higher-order", "float64"}


def test_missing_capability_skips_with_its_name(load_case: LoadCase) -> None:
    text = case_text("g = grad(sum(x ** 3), x, create_graph=True)[0]", "g: {value: [3.0, 12.0]}")
    verdict = run(load_case, NoHigherOrder(), text)
    assert verdict.outcome is Outcome.SKIPPED
    assert verdict.reason == "backend 'no-higher-order' lacks capability higher-order"
    both = text.replace("    kind: math\n", "    kind: math\n    dtype: float64\n")
    assert run(load_case, NoHigherOrder(), both).reason.endswith("float64, higher-order")


class TorchConventionBackend(TorchBackend):
    name = "other-convention"
    conventions: ClassVar[Mapping[str, str]] = {"subgradient.relu": "one-half"}


def test_other_convention_skips(load_case: LoadCase) -> None:
    text = case_text(
        "g = grad(sum(relu(x)), x)[0]",
        "g: {value: [1.0, 1.0]}",
        kind="convention",
        extra="convention: {subgradient.relu: torch}",
    )
    verdict = run(load_case, TorchConventionBackend(), text)
    assert verdict.outcome is Outcome.SKIPPED
    assert "convention subgradient.relu" in verdict.reason
    assert "'one-half'" in verdict.reason


class NoSine(TorchBackend):
    name = "no-sine"
    OPS: ClassVar[Mapping[str, Callable[..., Any]]] = {
        name: function for name, function in TorchBackend.OPS.items() if name != "sin"
    }


def test_unsupported_operation_skips_naming_it(load_case: LoadCase) -> None:
    text = case_text("y = x * 2\nz = sin(y)", "y: {value: [2.0, 4.0]}")
    verdict = run(load_case, NoSine(), text)
    assert verdict.outcome is Outcome.SKIPPED
    assert "'sin'" in verdict.reason
    assert "steps line 2" in verdict.reason


class NoGradFn(TorchBackend):
    name = "no-grad-fn"

    def has_grad_fn(self, tensor: Any) -> bool:
        raise NotSupportedError("grad_fn")


def test_unsupported_observation_skips(load_case: LoadCase) -> None:
    text = case_text("y = x * 2", "y: {grad_fn: true}")
    verdict = run(load_case, NoGradFn(), text)
    assert verdict.outcome is Outcome.SKIPPED
    assert "grad_fn" in verdict.reason


class Crashing(TorchBackend):
    """Every entry point raises: a broken adapter must give failures, never a crash."""

    name = "crashing"

    def tensor(self, array: Any, requires_grad: bool) -> Any:
        raise RuntimeError("tensor exploded")


class CrashingOps(TorchBackend):
    name = "crashing-ops"

    def op(self, name: str, *args: Any) -> Any:
        raise ZeroDivisionError(f"{name} exploded")


class CrashingObservation(TorchBackend):
    name = "crashing-observation"

    def to_numpy(self, tensor: Any) -> Any:
        raise KeyError("to_numpy exploded")


def test_crashing_inputs_are_an_adapter_error(load_case: LoadCase) -> None:
    text = case_text("y = x * 2", "y: {value: [2.0, 4.0]}")
    verdict = run(load_case, Crashing(), text)
    assert verdict.outcome is Outcome.ERROR
    assert "creating the inputs: adapter error" in messages(verdict)[0]
    assert "RuntimeError: tensor exploded" in messages(verdict)[0]


def test_crashing_ops_and_observation_are_adapter_errors(load_case: LoadCase) -> None:
    failing_step = case_text("y = x * 2", "y: {value: [2.0, 4.0]}")
    verdict = run(load_case, CrashingOps(), failing_step)
    assert verdict.outcome is Outcome.ERROR
    assert "ZeroDivisionError: mul exploded" in messages(verdict)[0]
    assert "test_runner.py" in verdict.traceback
    observe = case_text("y = grad(sum(x), x)[0]", "y: {value: [1.0, 1.0]}")
    verdict = run(load_case, CrashingObservation(), observe)
    assert verdict.outcome is Outcome.ERROR
    assert "reading value: adapter error" in messages(verdict)[0]
    assert "KeyError" in messages(verdict)[0]


def test_grad_tuple_is_unpacked(load_case: LoadCase, torch_backend: Backend) -> None:
    # d(x1 * w)/dx = w = 3 per element; d/dw = sum(x) = 3.
    text = case_text(
        "a, b = grad(sum(x * w), [x, w])",
        "a: {value: [3.0, 3.0]}\nb: {value: 3.0}",
        inputs="x: {value: [1.0, 2.0], requires_grad: true}\nw: {value: 3.0, requires_grad: true}",
    )
    verdict = run(load_case, torch_backend, text)
    assert verdict.outcome is Outcome.PASSED, messages(verdict)
