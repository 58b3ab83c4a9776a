"""Run a case on a backend and judge what it observes.

The runner walks the compiled program statement by statement, so an error is
pinned to the step (and YAML line) that raised it. Whatever an adapter raises
is caught and reported; a crashing adapter never takes the session down.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from conformance.arrays import build_array
from conformance.backend import Backend
from conformance.compare import Mismatch, compare_arrays, resolve_tolerance
from conformance.errors import NotSupportedError
from conformance.language import ir
from conformance.language.vocabulary import OPS, Category, backend_grad_mode
from conformance.model import EXPECT_NONE, Case, Expectation
from conformance.numpy_ops import NUMPY_OPS


class Outcome(Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RaisedError:
    line: int  # within steps
    type: str
    message: str


@dataclass
class Verdict:
    outcome: Outcome
    mismatches: list[Mismatch] = field(default_factory=list)
    reason: str = ""  # why skipped
    raised: RaisedError | None = None
    duration: float = 0.0


@dataclass(frozen=True)
class RunOptions:
    dtype: str = "float32"  # floating dtype of inputs not pinned by the case
    strict: bool = False  # also check torch details: exception types, messages, grad_fn names


class _StepError(Exception):
    """An exception raised by the backend while a given step ran."""

    def __init__(self, line: int, error: BaseException) -> None:
        self.line = line
        self.error = error


class _Unsupported(Exception):
    def __init__(self, line: int, error: NotSupportedError) -> None:
        self.line = line
        self.error = error


def skip_reason(case: Case, backend: Backend, options: RunOptions) -> str | None:
    """Why a case does not apply to this backend and run, or None if it does."""
    if case.kind == "torch-detail" and not options.strict:
        return "torch-detail case: checked only with --autograd-strict"
    missing = sorted(case.capabilities - backend.capabilities)
    if missing:
        return f"backend {backend.name!r} lacks capability {', '.join(missing)}"
    for key, pinned in case.convention.items():
        followed = backend.conventions.get(key)
        if followed is not None and followed != pinned:
            return (
                f"convention {key}: case pins {pinned!r},"
                f" backend {backend.name!r} follows {followed!r}"
            )
    return None


def input_dtype(case: Case, declared: str | None, options: RunOptions) -> str:
    if declared is not None:
        return declared
    return case.dtype or options.dtype


class _Stopped(Exception):
    """The step that should have raised ran without raising; nothing after it runs."""


class _Interpreter:
    def __init__(self, backend: Backend, case: Case, options: RunOptions) -> None:
        self.backend = backend
        self.case = case
        self.options = options
        self.stop_after = case.raises.line if case.raises else None
        self.env: dict[str, Any] = {}
        self.scopes: list[dict[str, Any]] = []  # a running hook's parameter, innermost last

    def run(self, statements: Sequence[ir.Stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ir.GradMode):
                enabled = statement.enabled
                mode = backend_grad_mode(
                    statement.mode, None if enabled is None else bool(self.evaluate(enabled))
                )
                try:
                    context = self.backend.grad_mode(mode)
                    context.__enter__()
                except NotSupportedError as exc:
                    raise _Unsupported(statement.line, exc) from None
                except Exception as exc:
                    raise _StepError(statement.line, exc) from None
                try:
                    self.run(statement.body)
                finally:
                    context.__exit__(None, None, None)
                continue
            try:
                value = self.evaluate(statement.value)
                if isinstance(statement, ir.Assign):
                    self.bind(statement, value)
            except (_StepError, _Unsupported):
                raise
            except NotSupportedError as exc:
                raise _Unsupported(statement.line, exc) from None
            except Exception as exc:
                raise _StepError(statement.line, exc) from None
            if statement.line == self.stop_after:
                raise _Stopped

    def bind(self, statement: ir.Assign, value: Any) -> None:
        if not statement.unpack:
            self.env[statement.targets[0]] = value
            return
        if not isinstance(value, (tuple, list)) or len(value) != len(statement.targets):
            size = len(value) if isinstance(value, (tuple, list)) else "a non-sequence"
            raise ValueError(f"cannot unpack {size} into {len(statement.targets)} names")
        for name, item in zip(statement.targets, value, strict=True):
            self.env[name] = item

    def evaluate(self, expr: ir.Expr) -> Any:
        if isinstance(expr, ir.Const):
            return expr.value
        if isinstance(expr, ir.Name):
            for scope in reversed(self.scopes):
                if expr.id in scope:
                    return scope[expr.id]
            return self.env[expr.id]
        if isinstance(expr, ir.TupleExpr):
            return tuple(self.evaluate(item) for item in expr.items)
        if isinstance(expr, ir.ListExpr):
            return [self.evaluate(item) for item in expr.items]
        if isinstance(expr, ir.SliceExpr):
            parts = (expr.lower, expr.upper, expr.step)
            return slice(*(None if part is None else self.evaluate(part) for part in parts))
        if isinstance(expr, ir.Call):
            return self.call(expr)
        if isinstance(expr, ir.Lambda):
            return self.function(expr)
        raise TypeError(f"cannot evaluate {type(expr).__name__} here")

    def function(self, expr: ir.Lambda) -> Callable[[Any], Any]:
        """A hook: the lambda's body evaluated with this backend when the engine calls it."""

        def hook(value: Any) -> Any:
            self.scopes.append({expr.param: value})
            try:
                return self.evaluate(expr.body)
            finally:
                self.scopes.pop()

        return hook

    def call(self, call: ir.Call) -> Any:
        args = [self.evaluate(arg) for arg in call.args]
        spec = OPS[call.op]
        if call.op == "getitem" and isinstance(args[0], (tuple, list)):
            return _index_sequence(args[0], args[1])
        if spec.category is Category.TENSOR:
            return self.backend.op(call.op, *args)
        if spec.category is Category.CREATION:
            array = np.asarray(NUMPY_OPS[call.op](*args))
            if array.dtype != np.bool_:
                array = array.astype(input_dtype(self.case, None, self.options))
            return self.backend.tensor(array, bool(args[-1]))
        return self.autograd(call.op, args)

    def autograd(self, op: str, args: list[Any]) -> Any:
        backend = self.backend
        if op == "grad":
            (
                outputs,
                inputs,
                grad_outputs,
                retain_graph,
                create_graph,
                allow_unused,
                _only_inputs,
                materialize_grads,
            ) = args
            # Passed only when set, so adapters written before it still run the other cases.
            extra = {"materialize_grads": True} if materialize_grads else {}
            return tuple(
                backend.grad(
                    _sequence(outputs),
                    _sequence(inputs),
                    None if grad_outputs is None else _sequence(grad_outputs),
                    retain_graph,
                    bool(create_graph),
                    bool(materialize_grads if allow_unused is None else allow_unused),
                    **extra,
                )
            )
        if op == "backward":
            tensors, grad_tensors, retain_graph, create_graph, inputs = args
            backend.backward(
                _sequence(tensors),
                None if grad_tensors is None else _sequence(grad_tensors),
                retain_graph,
                bool(create_graph),
                None if inputs is None else _sequence(inputs),
            )
            return None
        if op == "detach":
            return backend.detach(args[0])
        if op == "requires_grad_":
            return backend.requires_grad_(args[0], bool(args[1]))
        if op == "retain_grad":
            backend.retain_grad(args[0])
            return None
        if op == "get_grad":
            return backend.get_grad(args[0])
        if op == "zero_grad":
            backend.zero_grad(args[0])
            return None
        if op == "clear_grad":
            backend.clear_grad(args[0])
            return None
        if op == "register_hook":
            return backend.register_hook(args[0], args[1])
        if op == "remove":
            backend.remove_hook(args[0])
            return None
        raise NotSupportedError(f"autograd operation {op!r}")


def _index_sequence(sequence: tuple[Any, ...] | list[Any], index: tuple[Any, ...]) -> Any:
    """``grad(...)[0]``: the tuple of gradients is indexed by the runner, not the backend."""
    if len(index) != 1 or not isinstance(index[0], (int, slice)):
        raise TypeError("a tuple of gradients takes one integer index or a slice")
    return sequence[index[0]]


def _sequence(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Judge:
    """Reads the expected variables off the backend and compares them."""

    def __init__(
        self, backend: Backend, case: Case, options: RunOptions, env: dict[str, Any]
    ) -> None:
        self.backend = backend
        self.case = case
        self.options = options
        self.env = env
        self.mismatches: list[Mismatch] = []

    def miss(self, expectation: Expectation, check: str, message: str) -> None:
        line = expectation.key_lines.get(check, expectation.line)
        self.mismatches.append(Mismatch(expectation.variable, check, message, line))

    def judge(self, expectation: Expectation) -> None:
        name = expectation.variable
        if name not in self.env:
            self.miss(expectation, "value", "was never assigned (an earlier step did not run)")
            return
        value = self.env[name]
        is_tensor = self.backend.is_tensor(value)
        if expectation.value is EXPECT_NONE:
            if value is not None:
                self.miss(expectation, "value", f"expected None, got {_describe(value, is_tensor)}")
            return
        if not is_tensor:
            self.miss(expectation, "value", f"expected a tensor, got {_describe(value, False)}")
            return
        array = self.backend.to_numpy(value)
        if expectation.value is not None:
            self.compare(expectation, "value", expectation.value, array)
        if expectation.shape is not None and tuple(array.shape) != expectation.shape:
            self.miss(
                expectation,
                "shape",
                f"shape: expected {expectation.shape}, got {tuple(array.shape)}",
            )
        if expectation.dtype is not None and str(array.dtype) != expectation.dtype:
            self.miss(
                expectation, "dtype", f"dtype: expected {expectation.dtype}, got {array.dtype}"
            )
        if expectation.grad_fn is not None:
            has = self.backend.has_grad_fn(value)
            if has != expectation.grad_fn:
                message = (
                    "expected a grad_fn, the backend reports none"
                    if expectation.grad_fn
                    else "expected no grad_fn, the backend reports one"
                )
                self.miss(expectation, "grad_fn", message)
        if expectation.requires_grad is not None:
            flag = self.backend.requires_grad(value)
            if flag != expectation.requires_grad:
                self.miss(
                    expectation,
                    "requires_grad",
                    f"requires_grad: expected {expectation.requires_grad}, got {flag}",
                )
        if expectation.is_leaf is not None:
            leaf = self.backend.is_leaf(value)
            if leaf != expectation.is_leaf:
                self.miss(
                    expectation, "is_leaf", f"is_leaf: expected {expectation.is_leaf}, got {leaf}"
                )
        if expectation.grad_fn_name is not None and self.options.strict:
            expected_name = (
                None if expectation.grad_fn_name is EXPECT_NONE else expectation.grad_fn_name
            )
            got_name = self.backend.grad_fn_name(value)
            if got_name != expected_name:
                self.miss(
                    expectation,
                    "grad_fn_name",
                    f"grad_fn name (strict): expected {expected_name}, got {got_name}",
                )
        if expectation.grad is not None:
            grad = self.backend.get_grad(value)
            if expectation.grad is EXPECT_NONE:
                if grad is not None:
                    self.miss(
                        expectation, "grad", f".grad: expected None, got {_describe(grad, True)}"
                    )
            elif grad is None:
                self.miss(expectation, "grad", ".grad: expected a tensor, got None")
            else:
                self.compare(expectation, "grad", expectation.grad, self.backend.to_numpy(grad))

    def compare(self, expectation: Expectation, check: str, spec: Any, got: np.ndarray) -> None:
        dtype = str(got.dtype)
        expected = build_array(spec, "float64" if got.dtype.kind in "fc" else dtype)
        rtol, atol = resolve_tolerance(dtype, self.case.tolerance, expectation.tolerance)
        problem = compare_arrays(expected, got, rtol, atol)
        if problem is not None:
            label = ".grad " if check == "grad" else ""
            self.miss(expectation, check, f"{label}{problem}")


def _describe(value: Any, is_tensor: bool) -> str:
    if value is None:
        return "None"
    if is_tensor:
        return "a tensor"
    return f"a {type(value).__name__}"


def _error_matches(case: Case, raised: RaisedError) -> list[str]:
    expected = case.raises
    assert expected is not None
    problems = []
    if expected.type is not None and raised.type != expected.type:
        problems.append(f"exception type (strict): expected {expected.type}, got {raised.type}")
    if expected.match is not None and not re.search(expected.match, raised.message):
        problems.append(f"message (strict): {expected.match!r} not found in {raised.message!r}")
    return problems


def run_case(case: Case, backend: Backend, options: RunOptions | None = None) -> Verdict:
    """Run one case and return its verdict; never raises for backend faults."""
    options = options or RunOptions()
    start = time.perf_counter()
    verdict = _run(case, backend, options)
    verdict.duration = time.perf_counter() - start
    return verdict


def _run(case: Case, backend: Backend, options: RunOptions) -> Verdict:
    reason = skip_reason(case, backend, options)
    if reason:
        return Verdict(Outcome.SKIPPED, reason=reason)
    interpreter = _Interpreter(backend, case, options)
    try:
        for spec in case.inputs:
            array = build_array(spec.value, input_dtype(case, spec.dtype, options))
            interpreter.env[spec.name] = backend.tensor(array, spec.requires_grad)
    except NotSupportedError as exc:
        return Verdict(
            Outcome.SKIPPED,
            reason=f"backend {backend.name!r} does not support {exc} (creating inputs)",
        )
    except Exception as exc:
        message = f"creating the inputs raised {type(exc).__name__}: {exc}"
        return Verdict(Outcome.FAILED, [Mismatch("(inputs)", "error", message, case.line)])

    raised: RaisedError | None = None
    try:
        interpreter.run(case.program.statements)
    except _Unsupported as exc:
        where = case.step_location(exc.line)
        return Verdict(
            Outcome.SKIPPED,
            reason=(
                f"backend {backend.name!r} does not support {exc.error}"
                f" (steps line {exc.line}, {where})"
            ),
        )
    except _StepError as exc:
        raised = RaisedError(exc.line, type(exc.error).__name__, str(exc.error))
    except _Stopped:
        pass  # reported below as the missing error

    mismatches: list[Mismatch] = []
    expected = case.raises
    if raised is not None:
        source = case.step_source(raised.line)
        yaml_line = case.step_location(raised.line).line
        if expected is None:
            mismatches.append(
                Mismatch(
                    "(steps)",
                    "error",
                    f"step `{source}` raised {raised.type}: {raised.message}",
                    yaml_line,
                )
            )
        elif raised.line != expected.line:
            mismatches.append(
                Mismatch(
                    "(steps)",
                    "error",
                    f"expected an error at `{case.step_source(expected.line)}`"
                    f" (steps line {expected.line}), but `{source}`"
                    f" (steps line {raised.line}) raised {raised.type}: {raised.message}",
                    yaml_line,
                )
            )
        elif options.strict:
            mismatches.extend(
                Mismatch("(steps)", "error", problem, expected.yaml_line)
                for problem in _error_matches(case, raised)
            )
    elif expected is not None:
        mismatches.append(
            Mismatch(
                "(steps)",
                "error",
                f"expected `{case.step_source(expected.line)}` (steps line {expected.line})"
                " to raise; it did not",
                case.step_location(expected.line).line,
            )
        )

    # Judge the variables only when the program went as the case says; after a
    # missing or misplaced error they would report knock-on effects, not causes.
    went_as_expected = (
        raised is None and expected is None
        if raised is None or expected is None
        else raised.line == expected.line
    )
    if went_as_expected:
        judge = _Judge(backend, case, options, interpreter.env)
        for expectation in case.expect:
            try:
                judge.judge(expectation)
            except NotSupportedError as exc:
                return Verdict(
                    Outcome.SKIPPED,
                    reason=(
                        f"backend {backend.name!r} does not support {exc}"
                        f" (observing {expectation.variable})"
                    ),
                )
            except Exception as exc:
                judge.miss(expectation, "value", f"observing it raised {type(exc).__name__}: {exc}")
        mismatches.extend(judge.mismatches)
    outcome = Outcome.FAILED if mismatches else Outcome.PASSED
    return Verdict(outcome, mismatches, raised=raised)
