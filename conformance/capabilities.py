"""The closed vocabulary of capabilities, and what a case needs of them.

An adapter declares the capabilities its engine has. A case's needs are
inferred from its steps (and may be added by hand): a case whose steps need
what a backend lacks is skipped with that reason, never passed. An
expectation that reads what a backend lacks (a grad_fn, ``.grad``) does not
switch the case off: that one check is reported as unchecked, naming the
capability, and the rest of the case is run and judged.
"""

from __future__ import annotations

from conformance.language import ir
from conformance.language.vocabulary import GRAD_MODES, OPS

CAPABILITIES: dict[str, str] = {
    "backward": "backward() and t.backward(): gradients accumulated into leaves",
    "grad-accumulation": "reading, zeroing and clearing t.grad",
    "grad-fn": "whether a tensor carries graph history (grad_fn) and is a leaf",
    "higher-order": "create_graph=True: derivatives of derivatives",
    "graph-freeing": "a graph's saved values are freed by a backward pass; a second pass raises",
    "grad-mode": "no_grad(), enable_grad() and set_grad_enabled() blocks",
    "inference-mode": "inference_mode() blocks and the inference tensors made in them",
    "detach": "detach(): the same values cut from the graph",
    "in-place": "index assignment and in-place operations",
    "retain-grad": "retain_grad(): a non-leaf keeps its .grad",
    "requires-grad-flag": "requires_grad introspection and requires_grad_()",
    "hooks": "register_hook(): functions applied to a tensor's gradient",
    "float64": "double-precision tensors",
    "graph-membership": (
        "grad() knows what is on the recorded graph: it refuses an output without history and"
        " an input that does not require grad or is unused (None with allow_unused);"
        " a functional engine answers zero instead"
    ),
}

# Read off the vocabulary's table, so a new operation cannot forget its capability.
_BY_OP = {name: spec.capability for name, spec in OPS.items() if spec.capability is not None}

#: The capability each kind of expectation reads; without it, that check is unchecked.
CHECK_CAPABILITIES: dict[str, str] = {
    "grad": "grad-accumulation",
    "grad_fn": "grad-fn",
    "grad_fn_name": "grad-fn",
    "is_leaf": "grad-fn",
    "requires_grad": "requires-grad-flag",
}


def _uses_create_graph(program: ir.Program) -> bool:
    def visit_expr(expr: ir.Expr) -> bool:
        if isinstance(expr, ir.Call):
            if expr.op == "grad" and expr.args[4] != ir.Const(False):
                return True
            if expr.op == "backward" and expr.args[3] != ir.Const(False):
                return True
            return any(visit_expr(arg) for arg in expr.args)
        if isinstance(expr, (ir.TupleExpr, ir.ListExpr)):
            return any(visit_expr(item) for item in expr.items)
        if isinstance(expr, ir.Lambda):
            return visit_expr(expr.body)
        return False

    def visit(statements: tuple[ir.Stmt, ...]) -> bool:
        for statement in statements:
            if isinstance(statement, ir.GradMode):
                if visit(statement.body):
                    return True
            elif visit_expr(statement.value):
                return True
        return False

    return visit(program.statements)


def _grad_mode_capabilities(statements: tuple[ir.Stmt, ...]) -> set[str]:
    needed: set[str] = set()
    for statement in statements:
        if isinstance(statement, ir.GradMode):
            needed.add(GRAD_MODES[statement.mode].capability)
            needed |= _grad_mode_capabilities(statement.body)
    return needed


def infer_capabilities(program: ir.Program, uses_float64: bool) -> frozenset[str]:
    """The capabilities a case's steps need to run at all."""
    needed = {_BY_OP[op] for op in program.ops if op in _BY_OP}
    if _uses_create_graph(program):
        needed.add("higher-order")
    needed |= _grad_mode_capabilities(program.statements)
    if uses_float64 or "double" in program.ops:  # a float64 input, or a cast to float64
        needed.add("float64")
    return frozenset(needed)
