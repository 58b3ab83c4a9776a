"""Run a case on a backend and judge what it observes.

The runner walks the compiled program statement by statement, so an error is
pinned to the step (and YAML line) that raised it. Whatever an adapter raises
is caught and reported; a crashing adapter never takes the session down.

A verdict is earned: an error is the engine's answer to an expected error
only when it did not come from the adapter's own code (conformance.faults);
an expectation that reads what the engine lacks (a grad_fn, ``.grad``) is
reported as unchecked, naming the capability, while the rest of the case is
judged; a case that ran but could check nothing is skipped, never passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any

import numpy as np

from conformance.arrays import build_array
from conformance.backend import Backend
from conformance.capabilities import CHECK_CAPABILITIES
from conformance.compare import Mismatch, compare_arrays, resolve_tolerance
from conformance.conventions import convention_skip_reason
from conformance.deadline import alarm
from conformance.errors import CaseTimeout, EmulatedError, NotSupportedError
from conformance.faults import classify
from conformance.language import ir
from conformance.language.vocabulary import OPS, Category, backend_grad_mode
from conformance.limits import LimitExceeded, check_step_elements
from conformance.matching import message_matches
from conformance.model import EXPECT_NONE, Case, Expectation
from conformance.numpy_ops import NUMPY_OPS


class Outcome(Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: The adapter's own code failed (conformance.faults): not the engine's answer.
    ERROR = "error"
    #: The case ran past RunOptions.timeout.
    TIMED_OUT = "timed-out"


@dataclass(frozen=True)
class RaisedError:
    """The exception a step raised: the engine's answer, or the adapter's fault."""

    line: int  # within steps
    type: str
    message: str
    misuse: str | None = None  # the misuse the case expected there, when it expected one
    emulated: bool = False  # raised by the adapter on the engine's behalf (EmulatedError)


@dataclass(frozen=True)
class Unchecked:
    """An expectation the backend could not be asked, and what it would need."""

    variable: str
    check: str  # grad_fn, is_leaf, requires_grad, grad, ...
    needs: str  # the capability, or what the adapter said it does not support
    line: int


@dataclass
class Verdict:
    outcome: Outcome
    mismatches: list[Mismatch] = field(default_factory=list)
    reason: str = ""  # why skipped
    raised: RaisedError | None = None
    duration: float = 0.0
    unchecked: list[Unchecked] = field(default_factory=list)
    #: The traceback of an adapter error, for the adapter's author.
    traceback: str = ""


@dataclass(frozen=True)
class RunOptions:
    dtype: str = "float32"  # floating dtype of inputs not pinned by the case
    strict: bool = False  # also check torch details: exception types, messages, grad_fn names
    timeout: float | None = None  # seconds a case may run; None: no limit


#: Exceptions that are never an answer of the engine: they stop the case or the run.
_PASS_THROUGH = (KeyboardInterrupt, CaseTimeout)


class _StepError(Exception):
    """An exception raised by the backend while a given step ran."""

    def __init__(self, line: int, error: BaseException) -> None:
        self.line = line
        self.error = error


class _OverLimit(Exception):
    """A step would build a tensor over a limit (conformance.limits): the engine was not asked."""

    def __init__(self, line: int, error: LimitExceeded) -> None:
        self.line = line
        self.error = error


class _Unsupported(Exception):
    def __init__(self, line: int, error: NotSupportedError) -> None:
        self.line = line
        self.error = error


def skip_reason(case: Case, backend: Backend, options: RunOptions) -> str | None:
    """Why a case's steps cannot run on this backend and run, or None if they can."""
    if case.kind == "torch-detail" and not options.strict:
        return "torch-detail case: checked only with --autograd-strict"
    missing = sorted(case.capabilities - backend.capabilities)
    if missing:
        return f"backend {backend.name!r} lacks capability {', '.join(missing)}"
    return convention_skip_reason(case.convention, backend.conventions, backend.name)


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
                except _PASS_THROUGH:
                    raise
                except NotSupportedError as exc:
                    raise _Unsupported(statement.line, exc) from None
                except BaseException as exc:
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
            except (_StepError, _Unsupported, _OverLimit, *_PASS_THROUGH):
                raise
            except LimitExceeded as exc:
                raise _OverLimit(statement.line, exc) from None
            except NotSupportedError as exc:
                raise _Unsupported(statement.line, exc) from None
            except BaseException as exc:
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
        if spec.category is not Category.AUTOGRAD:
            check_step_elements(call.op, args)  # before anything is allocated
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
    """Reads the expected variables off the backend and compares them.

    Each check runs on its own: one the backend lacks the capability for, or
    that the adapter says it does not support, is recorded as unchecked and
    the others still run.
    """

    def __init__(
        self, backend: Backend, case: Case, options: RunOptions, env: dict[str, Any]
    ) -> None:
        self.backend = backend
        self.case = case
        self.options = options
        self.env = env
        self.mismatches: list[Mismatch] = []
        self.unchecked: list[Unchecked] = []
        self.checked = 0
        self.fault: tuple[Mismatch, str] | None = None  # an adapter error, and its traceback

    def miss(self, expectation: Expectation, check: str, message: str) -> None:
        line = expectation.key_lines.get(check, expectation.line)
        self.mismatches.append(Mismatch(expectation.variable, check, message, line))

    def _line(self, expectation: Expectation, check: str) -> int:
        return expectation.key_lines.get(check, expectation.line)

    def attempt(
        self,
        expectation: Expectation,
        check: str,
        body: Callable[[], bool | None],
    ) -> None:
        """Run one check, unless the backend cannot be asked it.

        ``body`` returns False when it only looked without checking anything.
        """
        capability = CHECK_CAPABILITIES.get(check)
        if capability is not None and capability not in self.backend.capabilities:
            self.unchecked.append(
                Unchecked(
                    expectation.variable,
                    check,
                    f"capability {capability}",
                    self._line(expectation, check),
                )
            )
            return
        try:
            looked_only = body() is False
        except _PASS_THROUGH:
            raise
        except NotSupportedError as exc:
            self.unchecked.append(
                Unchecked(
                    expectation.variable,
                    check,
                    f"the adapter does not support {exc}",
                    self._line(expectation, check),
                )
            )
            return
        except BaseException as exc:
            fault = classify(exc, self.backend)
            if fault is not None:
                if self.fault is None:
                    mismatch = Mismatch(
                        expectation.variable,
                        "adapter",
                        f"reading {check}: {fault.describe(exc)}",
                        self._line(expectation, check),
                    )
                    self.fault = (mismatch, fault.traceback)
                return
            self.miss(expectation, check, f"observing it raised {type(exc).__name__}: {exc}")
            looked_only = False
        if not looked_only:
            self.checked += 1

    def judge(self, expectation: Expectation) -> None:
        name = expectation.variable
        if name not in self.env:
            self.miss(expectation, "value", "was never assigned (an earlier step did not run)")
            self.checked += 1
            return
        value = self.env[name]
        state: dict[str, Any] = {}

        def kind() -> bool:
            state["is_tensor"] = self.backend.is_tensor(value)
            if expectation.value is EXPECT_NONE:
                if value is not None:
                    got = _describe(value, state["is_tensor"])
                    self.miss(expectation, "value", f"expected None, got {got}")
                state["done"] = True
                return True
            if not state["is_tensor"]:
                self.miss(expectation, "value", f"expected a tensor, got {_describe(value, False)}")
                state["done"] = True
                return True
            return False  # only a precondition of the checks below

        self.attempt(expectation, "value", kind)
        if "is_tensor" not in state or state.get("done"):
            return

        def values() -> None:
            array = self.backend.to_numpy(value)
            if expectation.value is not None:
                self.compare(expectation, "value", expectation.value, array)
            if expectation.shape is not None and tuple(array.shape) != expectation.shape:
                got = tuple(array.shape)
                self.miss(expectation, "shape", f"shape: expected {expectation.shape}, got {got}")
            if expectation.dtype is not None and str(array.dtype) != expectation.dtype:
                self.miss(
                    expectation, "dtype", f"dtype: expected {expectation.dtype}, got {array.dtype}"
                )

        if expectation.value is not None or expectation.shape or expectation.dtype:
            self.attempt(expectation, "value", values)
        if expectation.grad_fn is not None:
            self.attempt(expectation, "grad_fn", lambda: self.check_grad_fn(expectation, value))
        flags: tuple[tuple[str, Callable[[Any], bool]], ...] = (
            ("requires_grad", self.backend.requires_grad),
            ("is_leaf", self.backend.is_leaf),
        )
        for check, read in flags:
            if getattr(expectation, check) is not None:
                self.attempt(
                    expectation, check, partial(self.check_flag, expectation, check, read, value)
                )
        if expectation.grad_fn_name is not None and self.options.strict:
            self.attempt(
                expectation, "grad_fn_name", lambda: self.check_grad_fn_name(expectation, value)
            )
        if expectation.grad is not None:
            self.attempt(expectation, "grad", lambda: self.check_grad(expectation, value))

    def check_grad_fn(self, expectation: Expectation, value: Any) -> None:
        has = self.backend.has_grad_fn(value)
        if has != expectation.grad_fn:
            message = (
                "expected a grad_fn, the backend reports none"
                if expectation.grad_fn
                else "expected no grad_fn, the backend reports one"
            )
            self.miss(expectation, "grad_fn", message)

    def check_flag(
        self, expectation: Expectation, check: str, read: Callable[[Any], bool], value: Any
    ) -> None:
        got = read(value)
        expected = getattr(expectation, check)
        if got != expected:
            self.miss(expectation, check, f"{check}: expected {expected}, got {got}")

    def check_grad_fn_name(self, expectation: Expectation, value: Any) -> None:
        expected = None if expectation.grad_fn_name is EXPECT_NONE else expectation.grad_fn_name
        got = self.backend.grad_fn_name(value)
        if got != expected:
            self.miss(
                expectation,
                "grad_fn_name",
                f"grad_fn name (strict): expected {expected}, got {got}",
            )

    def check_grad(self, expectation: Expectation, value: Any) -> None:
        grad = self.backend.get_grad(value)
        if expectation.grad is EXPECT_NONE:
            if grad is not None:
                self.miss(expectation, "grad", f".grad: expected None, got {_describe(grad, True)}")
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
    if expected.match is not None and not message_matches(expected.match, raised.message):
        problems.append(f"message (strict): {expected.match!r} not found in {raised.message!r}")
    return problems


def run_case(case: Case, backend: Backend, options: RunOptions | None = None) -> Verdict:
    """Run one case and return its verdict; never raises for backend faults.

    Only KeyboardInterrupt passes through: an interrupted run is the user's.
    """
    options = options or RunOptions()
    start = time.perf_counter()
    try:
        with alarm(options.timeout):
            verdict = _run(case, backend, options)
    except CaseTimeout as exc:
        verdict = Verdict(
            Outcome.TIMED_OUT,
            [Mismatch("(case)", "timeout", str(exc), case.line)],
            reason=str(exc),
        )
    verdict.duration = time.perf_counter() - start
    return verdict


def _adapter_error(where: str, error: BaseException, backend: Backend, line: int) -> Verdict | None:
    """An ERROR verdict when ``error`` is the adapter's fault, else None."""
    fault = classify(error, backend)
    if fault is None:
        return None
    mismatch = Mismatch("(steps)", "adapter", f"{where}: {fault.describe(error)}", line)
    return Verdict(Outcome.ERROR, [mismatch], traceback=fault.traceback)


def _run(case: Case, backend: Backend, options: RunOptions) -> Verdict:
    reason = skip_reason(case, backend, options)
    if reason:
        return Verdict(Outcome.SKIPPED, reason=reason)
    interpreter = _Interpreter(backend, case, options)
    try:
        for spec in case.inputs:
            array = build_array(spec.value, input_dtype(case, spec.dtype, options))
            interpreter.env[spec.name] = backend.tensor(array, spec.requires_grad)
    except _PASS_THROUGH:
        raise
    except NotSupportedError as exc:
        return Verdict(
            Outcome.SKIPPED,
            reason=f"backend {backend.name!r} does not support {exc} (creating inputs)",
        )
    except LimitExceeded as exc:
        return Verdict(Outcome.FAILED, [Mismatch("(inputs)", "limit", str(exc), case.line)])
    except BaseException as exc:
        fault = _adapter_error("creating the inputs", exc, backend, case.line)
        if fault is not None:
            return fault
        message = f"creating the inputs raised {type(exc).__name__}: {exc}"
        return Verdict(Outcome.FAILED, [Mismatch("(inputs)", "error", message, case.line)])

    raised: RaisedError | None = None
    expected = case.raises
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
    except _OverLimit as exc:
        yaml_line = case.step_location(exc.line).line
        message = f"step `{case.step_source(exc.line)}`: {exc.error}"
        return Verdict(Outcome.FAILED, [Mismatch("(steps)", "limit", message, yaml_line)])
    except _StepError as exc:
        source = case.step_source(exc.line)
        fault = _adapter_error(
            f"step `{source}`", exc.error, backend, case.step_location(exc.line).line
        )
        raised = RaisedError(
            exc.line,
            type(exc.error).__name__,
            str(exc.error),
            misuse=expected.misuse if expected and expected.line == exc.line else None,
            emulated=isinstance(exc.error, EmulatedError),
        )
        if fault is not None:
            fault.raised = raised
            return fault
    except _Stopped:
        pass  # reported below as the missing error

    mismatches: list[Mismatch] = []
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
                    f" (steps line {expected.line}, {expected.misuse}), but `{source}`"
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
                f" to raise ({expected.misuse}); it did not",
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
    unchecked: list[Unchecked] = []
    checked = 1 if expected is not None else 0  # the expected error is itself a check
    if went_as_expected:
        judge = _Judge(backend, case, options, interpreter.env)
        for expectation in case.expect:
            judge.judge(expectation)
        if judge.fault is not None:
            mismatch, trace = judge.fault
            return Verdict(Outcome.ERROR, [mismatch], raised=raised, traceback=trace)
        mismatches.extend(judge.mismatches)
        unchecked = judge.unchecked
        checked += judge.checked
    if not mismatches and checked == 0:
        needs = sorted({item.needs for item in unchecked})
        why = (
            f"every expectation needs {', '.join(needs)}"
            if needs
            else "its only checks are torch details, checked only with --autograd-strict"
        )
        return Verdict(
            Outcome.SKIPPED,
            reason=f"nothing left to check on backend {backend.name!r}: {why}",
            unchecked=unchecked,
        )
    outcome = Outcome.FAILED if mismatches else Outcome.PASSED
    return Verdict(outcome, mismatches, raised=raised, unchecked=unchecked)
