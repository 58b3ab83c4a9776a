"""Static reading of a program: how many derivatives are nested, and through which ops.

The oracle uses the nesting depth to choose its step size; the coverage report
uses the orders at which each operation is differentiated. Both read the same
data flow: a value carries, for each operation in its history, how many
derivatives have been taken through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.language import ir
from conformance.language.vocabulary import GRAD_MODES, OPS, Category

History = dict[str, int]  # op name -> derivatives taken through it so far


@dataclass
class Orders:
    """The derivative structure of one program."""

    max_order: int = 0  # the deepest nesting of grad/backward
    # (op, order) pairs reached: order 0 for an op evaluated, k for one differentiated k times.
    reached: set[tuple[str, int]] = field(default_factory=set)


@dataclass
class _Value:
    history: History
    order: int


_EMPTY = _Value({}, 0)


def _merge(values: list[_Value]) -> _Value:
    history: History = {}
    order = 0
    for value in values:
        order = max(order, value.order)
        for op, count in value.history.items():
            history[op] = max(history.get(op, 0), count)
    return _Value(history, order)


class _Reader:
    def __init__(self) -> None:
        self.env: dict[str, _Value] = {}
        self.orders = Orders()
        self.accumulated = _Value({}, 0)  # what backward() has put into .grad so far

    def differentiate(self, outputs: _Value) -> _Value:
        history = {op: count + 1 for op, count in outputs.history.items()}
        for op, count in history.items():
            self.orders.reached.add((op, count))
        order = outputs.order + 1
        self.orders.max_order = max(self.orders.max_order, order)
        return _Value(history, order)

    def statements(self, statements: tuple[ir.Stmt, ...], recording: bool) -> None:
        for statement in statements:
            if isinstance(statement, ir.GradMode):
                spec = GRAD_MODES.get(statement.mode)
                enabled = getattr(spec, "enabled", None)
                if enabled is None and isinstance(statement.enabled, ir.Const):
                    enabled = bool(statement.enabled.value)
                self.statements(statement.body, recording and enabled is not False)
                continue
            value = self.expr(statement.value, recording)
            if isinstance(statement, ir.Assign):
                for target in statement.targets:
                    self.env[target] = value

    def expr(self, expr: ir.Expr, recording: bool) -> _Value:
        if isinstance(expr, ir.Name):
            return self.env.get(expr.id, _EMPTY)
        if isinstance(expr, (ir.TupleExpr, ir.ListExpr)):
            return _merge([self.expr(item, recording) for item in expr.items])
        if isinstance(expr, ir.Call):
            return self.call(expr, recording)
        return _EMPTY

    def call(self, call: ir.Call, recording: bool) -> _Value:
        spec = OPS.get(call.op)
        args = [self.expr(arg, recording) for arg in call.args]
        if spec is None or spec.category is not Category.AUTOGRAD:
            receiver = call.args[0] if call.args else None
            if (
                call.op == "getitem"
                and isinstance(receiver, ir.Call)
                and OPS.get(receiver.op) is not None
                and OPS[receiver.op].category is Category.AUTOGRAD
            ):
                return args[0]  # grad(...)[0] picks an item of a tuple, not a tensor op
            self.orders.reached.add((call.op, 0))
            if not recording:
                return _EMPTY
            merged = _merge(args)
            merged.history.setdefault(call.op, 0)
            return merged
        if call.op == "grad":
            return self.differentiate(args[0])
        if call.op == "backward":
            result = self.differentiate(args[0])
            self.accumulated = _merge([self.accumulated, result])
            return _EMPTY
        if call.op == "get_grad":
            return self.accumulated
        if call.op == "detach":
            return _EMPTY
        return args[0] if args else _EMPTY


def read_orders(program: ir.Program) -> Orders:
    """The derivative orders of a program, read without running it."""
    reader = _Reader()
    reader.statements(program.statements, True)
    return reader.orders
