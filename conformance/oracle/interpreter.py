"""Run a case's program on numpy in float64, derivatives by central differences.

Forward values come from ``conformance.numpy_ops.NUMPY_OPS``, the
vocabulary's semantics on numpy. A derivative is taken by running the program
again from its start up to the statement that asks for it, with one element
of the differentiated tensor moved by a small step where that tensor is made,
and reading the outputs there. Values that do not require grad in the
unperturbed run (detached, computed under no_grad, gradients taken without
create_graph, constants) are constants for differentiation, so a re-run takes
them from the unperturbed run. A derivative asked for inside a re-run is taken
the same way, which nests the differences for second and third derivatives.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.language import ir
from conformance.language.vocabulary import OPS, Category, OpSpec
from conformance.limits import check_step_elements
from conformance.numpy_ops import NUMPY_OPS
from conformance.oracle.program import FlatStatement
from conformance.oracle.values import Handle, OracleStepError, OracleTensor, float_array

HOOK_REASON = "a hook (register_hook) may change this gradient; the oracle does not model hooks"


@dataclass(frozen=True)
class Perturbation:
    origin: Hashable
    index: int  # flat index of the element moved
    delta: float


class BudgetExceeded(OracleStepError):
    """The nested differences would need more re-runs than the oracle allows itself."""


@dataclass
class Evaluation:
    """What every run of one oracle evaluation shares: the program and the unperturbed values."""

    statements: list[FlatStatement]
    inputs: list[tuple[str, np.ndarray, bool]]  # name, value, requires_grad
    step: float  # relative step of the central differences
    max_runs: int = 400_000
    runs: int = 0
    # Results of calls in the unperturbed run that are constants for differentiation.
    constants: dict[int, Any] = field(default_factory=dict)
    # What each backward() without create_graph added, by the origin of the tensor it reached.
    increments: dict[int, list[tuple[Hashable, np.ndarray]]] = field(default_factory=dict)


def _tensors(value: Any) -> Iterator[OracleTensor]:
    if isinstance(value, OracleTensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)


def _unwrap(value: Any) -> Any:
    if isinstance(value, OracleTensor):
        return value.array
    if isinstance(value, tuple):
        return tuple(_unwrap(item) for item in value)
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    if isinstance(value, slice):
        return slice(*(_unwrap(part) for part in (value.start, value.stop, value.step)))
    return value


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _snapshot(value: Any) -> Any:
    if isinstance(value, OracleTensor):
        return OracleTensor(
            value.array.copy(),
            value.origin,
            unjudged=value.unjudged,
            differentiated=value.differentiated,
        )
    if isinstance(value, tuple):
        return tuple(_snapshot(item) for item in value)
    return value


class Run:
    """One execution of the program, possibly with some elements perturbed."""

    def __init__(self, evaluation: Evaluation, perturbations: tuple[Perturbation, ...] = ()):
        self.evaluation = evaluation
        self.perturbations = perturbations
        self.env: dict[str, Any] = {}
        self.registry: dict[Hashable, OracleTensor] = {}  # leaves requiring grad, retain_grad
        self.hooks: str | None = None
        self.recording = True
        self.current = 0  # index of the statement being run
        evaluation.runs += 1
        if evaluation.runs > evaluation.max_runs:
            raise BudgetExceeded(
                f"the nested finite differences need more than {evaluation.max_runs} re-runs"
            )
        for name, array, requires_grad in evaluation.inputs:
            tensor = self.new(array.copy(), ("input", name), requires_grad, is_leaf=True)
            if tensor.requires_grad:
                self.registry[tensor.origin] = tensor
            self.env[name] = tensor

    # Statements -----------------------------------------------------------
    def execute(self, stop: int) -> None:
        """Run statements [0, stop); errors propagate."""
        for index in range(stop):
            self.step(index)

    def step(self, index: int) -> None:
        flat = self.evaluation.statements[index]
        self.current = index
        self.recording = flat.recording
        statement = flat.statement
        value = self.evaluate(statement.value)
        if isinstance(statement, ir.Assign):
            if not statement.unpack:
                self.env[statement.targets[0]] = value
                return
            items = _as_list(value) if isinstance(value, (tuple, list)) else None
            if items is None or len(items) != len(statement.targets):
                raise OracleStepError(
                    f"cannot unpack the value into {len(statement.targets)} names"
                )
            for name, item in zip(statement.targets, items, strict=True):
                self.env[name] = item

    # Expressions ----------------------------------------------------------
    def evaluate(self, expr: ir.Expr) -> Any:
        if isinstance(expr, ir.Const):
            return expr.value
        if isinstance(expr, ir.Name):
            if expr.id not in self.env:
                raise OracleStepError(f"{expr.id!r} has no value")
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
        return expr  # a hook's lambda: kept as data, never run

    def call(self, node: ir.Call) -> Any:
        key = id(node)
        if self.perturbations and key in self.evaluation.constants:
            return self.restore(self.evaluation.constants[key])
        spec = OPS.get(node.op)
        if spec is None:
            raise OracleStepError(f"{node.op}() is not in the vocabulary")
        args = [self.evaluate(arg) for arg in node.args]
        if spec.category is Category.AUTOGRAD:
            result = self.autograd(node, spec, args)
        else:
            result = self.operation(node, spec, args)
        if not self.perturbations and _is_constant(result, args):
            self.evaluation.constants[key] = _snapshot(result)
        return result

    def restore(self, value: Any) -> Any:
        if isinstance(value, OracleTensor):
            return self.new(
                value.array.copy(),
                value.origin,
                unjudged=value.unjudged,
                differentiated=value.differentiated,
            )
        if isinstance(value, tuple):
            return tuple(self.restore(item) for item in value)
        return value

    def new(
        self,
        array: np.ndarray,
        origin: Hashable,
        requires_grad: bool = False,
        *,
        is_leaf: bool | None = None,
        unjudged: str | None = None,
        differentiated: bool = False,
    ) -> OracleTensor:
        """A tensor made at ``origin``, with the perturbations of this run applied to it."""
        for perturbation in self.perturbations:
            if perturbation.origin == origin:
                array = np.array(array, dtype=np.float64)
                with np.errstate(all="ignore"):
                    array.flat[perturbation.index] += perturbation.delta
        floating = array.dtype.kind in "fc"
        requires = requires_grad and floating
        return OracleTensor(
            array,
            origin,
            requires_grad=requires,
            is_leaf=(not requires) if is_leaf is None else is_leaf,
            unjudged=unjudged,
            differentiated=differentiated,
        )

    def new_version(self, tensor: OracleTensor, origin: Hashable) -> None:
        """An in-place write makes a new version: derivatives taken later are w.r.t. it."""
        tensor.origin = origin
        for perturbation in self.perturbations:
            if perturbation.origin == origin:
                tensor.array.flat[perturbation.index] += perturbation.delta

    # Operations on tensors --------------------------------------------------
    def operation(self, node: ir.Call, spec: OpSpec, args: list[Any]) -> Any:
        if node.op == "getitem" and isinstance(args[0], (tuple, list)):
            index = args[1]
            if len(index) != 1 or not isinstance(index[0], (int, slice)):
                raise OracleStepError("a tuple of gradients takes one integer index or a slice")
            return args[0][index[0]]
        function = NUMPY_OPS.get(node.op)
        if function is None:
            raise OracleStepError(f"{node.op}() has no numpy semantics (conformance.numpy_ops)")
        raw = [_unwrap(arg) for arg in args]
        tensors = list(_tensors(args))
        check_step_elements(node.op, raw)  # before numpy allocates a result over the limit
        with np.errstate(all="ignore"):
            out = function(*raw)
        unjudged = next((t.unjudged for t in tensors if t.unjudged), None)
        differentiated = any(t.differentiated for t in tensors)
        if spec.category is Category.CREATION:
            names = [param.name for param in spec.params]
            requires = "requires_grad" in names and bool(args[names.index("requires_grad")])
            tensor = self.new(float_array(out), (id(node),), requires, is_leaf=True)
            if tensor.requires_grad:
                self.registry[tensor.origin] = tensor
            return tensor
        requires = self.recording and any(t.requires_grad for t in tensors)
        receiver = args[0] if args and isinstance(args[0], OracleTensor) else None
        if receiver is not None and (out is None or out is raw[0]):
            # In place: the receiver itself now holds the result.
            if requires and receiver.is_float:
                receiver.requires_grad = True
                receiver.is_leaf = False
            receiver.unjudged = receiver.unjudged or unjudged
            receiver.differentiated = receiver.differentiated or differentiated
            if receiver.array.dtype != np.float64 and receiver.is_float:
                receiver.array = receiver.array.astype(np.float64)
            self.new_version(receiver, (id(node),))
            return None if out is None else receiver
        if isinstance(out, tuple):
            return tuple(
                self.wrap(item, (id(node), i), requires, unjudged, differentiated)
                for i, item in enumerate(out)
            )
        return self.wrap(out, (id(node),), requires, unjudged, differentiated)

    def wrap(
        self, out: Any, origin: Hashable, requires: bool, unjudged: str | None, flag: bool
    ) -> OracleTensor:
        array = np.asarray(out)
        if array.dtype.kind == "f" and array.dtype != np.float64:
            array = array.astype(np.float64)
        return self.new(array, origin, requires, unjudged=unjudged, differentiated=flag)

    # Autograd ---------------------------------------------------------------
    def autograd(self, node: ir.Call, spec: OpSpec, args: list[Any]) -> Any:
        values = dict(zip((param.name for param in spec.params), args, strict=False))
        op = node.op
        if op == "grad":
            return self.grad(node, values)
        if op == "backward":
            self.backward(node, values)
            return None
        receiver = args[0] if args else None
        if not isinstance(receiver, (OracleTensor, Handle)):
            raise OracleStepError(f"{op}() needs a tensor")
        if isinstance(receiver, Handle):
            if op == "remove":
                return None  # the hook's effect on earlier gradients stays unjudged
            raise OracleStepError(f"{op}() needs a tensor, not a hook handle")
        if op == "detach":
            return self.new(
                receiver.array.copy(),
                (id(node),),
                unjudged=receiver.unjudged,
                differentiated=receiver.differentiated,
            )
        if op == "requires_grad_":
            flag = bool(values.get("requires_grad", True)) and receiver.is_float
            receiver.requires_grad = flag
            if flag and receiver.is_leaf:
                self.registry[receiver.origin] = receiver
            return receiver
        if op == "retain_grad":
            receiver.retains_grad = True
            self.registry[receiver.origin] = receiver
            return None
        if op == "register_hook":
            self.hooks = HOOK_REASON
            return Handle(receiver)
        if op == "get_grad":
            return receiver.grad
        if op == "zero_grad":
            if receiver.grad is None:
                raise OracleStepError("t.grad.zero_() on a tensor whose .grad is None")
            receiver.grad.array = np.zeros_like(receiver.grad.array)
            return None
        if op == "clear_grad":
            receiver.grad = None
            return None
        raise OracleStepError(f"the oracle does not model {op}()")

    def cotangents(self, outputs: list[Any], given: Any) -> list[np.ndarray]:
        """The vectors v of J^T v, one per output: given, or ones for a one-element output."""
        vectors = _as_list(given) if given is not None else [None] * len(outputs)
        if len(vectors) != len(outputs):
            raise OracleStepError(f"{len(outputs)} outputs but {len(vectors)} grad_outputs")
        result = []
        for output, vector in zip(outputs, vectors, strict=True):
            if not isinstance(output, OracleTensor):
                raise OracleStepError("an output to differentiate is not a tensor")
            if vector is None:
                if output.array.size != 1:
                    raise OracleStepError(
                        "grad_outputs may be left out only for one-element outputs"
                    )
                result.append(np.ones_like(output.array, dtype=np.float64))
            else:
                array = np.asarray(_unwrap(vector), dtype=np.float64)
                if array.shape != output.array.shape:
                    raise OracleStepError(
                        f"grad_outputs of shape {array.shape} for an output of shape"
                        f" {output.array.shape}"
                    )
                result.append(array)
        return result

    def vjp(
        self, outputs_expr: ir.Expr, vectors: Sequence[np.ndarray], targets: Sequence[OracleTensor]
    ) -> list[np.ndarray]:
        """sum_i v_i^T J_i for each target, by central differences with Richardson extrapolation.

        D(h) = (f(x + h) - f(x - h)) / 2h has error c h^2 + O(h^4); (4 D(h) - D(2h)) / 3
        cancels the h^2 term.
        """
        index, recording = self.current, self.recording

        def value(perturbation: Perturbation) -> float:
            run = Run(self.evaluation, (*self.perturbations, perturbation))
            run.execute(index)
            run.current, run.recording = index, recording
            outputs = _as_list(run.evaluate(outputs_expr))
            total = 0.0
            for vector, output in zip(vectors, outputs, strict=False):
                if not isinstance(output, OracleTensor):
                    raise OracleStepError("an output to differentiate is not a tensor")
                total += float(np.sum(vector * output.array))
            return total

        results = []
        for target in targets:
            if not isinstance(target, OracleTensor) or not target.is_float:
                raise OracleStepError("an input to differentiate is not a floating tensor")
            result = np.zeros(target.array.shape, dtype=np.float64)
            for element in range(target.array.size):
                h = self.evaluation.step * max(1.0, abs(float(target.array.flat[element])))
                d = []
                for scale in (1.0, 2.0):
                    plus = value(Perturbation(target.origin, element, scale * h))
                    minus = value(Perturbation(target.origin, element, -scale * h))
                    d.append((plus - minus) / (2.0 * scale * h))
                result.flat[element] = (4.0 * d[0] - d[1]) / 3.0
            results.append(result)
        return results

    def _taint(self, *values: Any) -> str | None:
        if self.hooks:
            return self.hooks
        return next((t.unjudged for t in _tensors(list(values)) if t.unjudged), None)

    def grad(self, node: ir.Call, values: dict[str, Any]) -> tuple[OracleTensor, ...]:
        outputs = _as_list(values["outputs"])
        inputs = _as_list(values["inputs"])
        vectors = self.cotangents(outputs, values.get("grad_outputs"))
        create_graph = bool(values.get("create_graph")) and self.recording
        gradients = self.vjp(node.args[0], vectors, inputs)
        unjudged = self._taint(outputs, inputs, values.get("grad_outputs"))
        return tuple(
            self.new(
                gradient,
                (id(node), i),
                create_graph,
                unjudged=unjudged,
                differentiated=True,
            )
            for i, gradient in enumerate(gradients)
        )

    def backward(self, node: ir.Call, values: dict[str, Any]) -> None:
        outputs = _as_list(values["tensors"])
        create_graph = bool(values.get("create_graph"))
        if values.get("inputs") is not None:
            targets = _as_list(values["inputs"])
        else:
            targets = [
                t
                for t in self.registry.values()
                if (t.is_leaf and t.requires_grad) or t.retains_grad
            ]
        recorded = self.evaluation.increments.get(id(node))
        if self.perturbations and not create_graph and recorded is not None:
            by_origin = {t.origin: t for t in targets if isinstance(t, OracleTensor)}
            increments = [(by_origin[o], g.copy()) for o, g in recorded if o in by_origin]
        else:
            vectors = self.cotangents(outputs, values.get("grad_tensors"))
            gradients = self.vjp(node.args[0], vectors, targets)
            increments = list(zip(targets, gradients, strict=True))
            if not self.perturbations and not create_graph:
                self.evaluation.increments[id(node)] = [(t.origin, g.copy()) for t, g in increments]
        unjudged = self._taint(outputs, values.get("grad_tensors"))
        for target, gradient in increments:
            self.accumulate(node, target, gradient, create_graph, unjudged)

    def accumulate(
        self,
        node: ir.Call,
        target: OracleTensor,
        gradient: np.ndarray,
        create_graph: bool,
        unjudged: str | None,
    ) -> None:
        existing = target.grad
        if existing is not None and not create_graph and not existing.requires_grad:
            existing.array = existing.array + gradient  # accumulated in place
            existing.unjudged = existing.unjudged or unjudged
            existing.differentiated = True
            return
        total = gradient if existing is None else existing.array + gradient
        target.grad = self.new(
            np.array(total, dtype=np.float64),
            (id(node), "grad", target.origin),
            create_graph and self.recording,
            unjudged=unjudged or (existing.unjudged if existing else None),
            differentiated=True,
        )


def _is_constant(result: Any, args: list[Any]) -> bool:
    """A fresh value that does not require grad: the same in every perturbed run."""
    tensors = list(_tensors(result))
    if not tensors or any(t.requires_grad for t in tensors):
        return False
    if isinstance(result, (tuple, list)) and not all(
        item is None or isinstance(item, OracleTensor) for item in result
    ):
        return False
    given = list(_tensors(args))
    for tensor in tensors:
        for arg in given:
            if tensor is arg or np.shares_memory(tensor.array, arg.array):
                return False
    return True
