"""Compile step text to the IR, rejecting everything outside the vocabulary.

Python's own parser reads the text (so the syntax is exactly Python's); this
module then walks the tree and accepts only the handful of node types the
language has. A rejection names the line and column within the steps and the
construct, e.g. ``imports are not part of the step language``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from conformance.language import ir
from conformance.language.vocabulary import (
    AUGMENTED_OPERATORS,
    BACKWARD_METHOD_PARAMS,
    BINARY_OPERATORS,
    COMPARE_OPERATORS,
    GRAD_MODES,
    OPS,
    REQUIRED,
    Category,
    OpSpec,
    function_names,
    method_names,
)
from conformance.limits import (
    EXPRESSION_DEPTH,
    STEPS_CHARS,
    STEPS_STATEMENTS,
    TENSOR_ELEMENTS,
    LimitExceeded,
    creation_elements,
    shape_elements,
)

_FORBIDDEN_NODES: dict[type[ast.AST], str] = {
    ast.Import: "imports",
    ast.ImportFrom: "imports",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.FunctionDef: "function definitions",
    ast.AsyncFunctionDef: "function definitions",
    ast.ClassDef: "class definitions",
    ast.For: "loops",
    ast.While: "loops",
    ast.If: "if statements",
    ast.Try: "try statements",
    ast.Delete: "del statements",
    ast.Global: "global statements",
    ast.Nonlocal: "nonlocal statements",
    ast.Return: "return statements",
    ast.Raise: "raise statements",
    ast.Assert: "assert statements",
    ast.AnnAssign: "annotated assignments",
    ast.NamedExpr: "assignment expressions",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.JoinedStr: "f-strings",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Starred: "starred expressions",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expressions",
}


class StepSyntaxError(Exception):
    """A step outside the language; line and column are 1-based within the steps."""

    def __init__(self, line: int, column: int, message: str) -> None:
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"line {line}, column {column}: {message}")


def _fail(node: ast.AST, message: str) -> StepSyntaxError:
    return StepSyntaxError(getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1, message)


# Python's parser ends a line at \r\n, \r or \n only (not at \f or \x85, as str.splitlines does).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


class _Source:
    """The steps text split into lines once, so each statement's text is a slice.

    ``ast.get_source_segment`` splits the whole text again at every call,
    which made loading quadratic in the length of the steps.
    """

    def __init__(self, source: str) -> None:
        self._lines: list[str] = _LINE.findall(source)

    def segment(self, node: ast.stmt) -> str:
        """The text of ``node``, as ``ast.get_source_segment`` gives it (offsets are UTF-8)."""
        end_line, end_column = node.end_lineno, node.end_col_offset
        if end_line is None or end_column is None or node.lineno > len(self._lines):
            return ""
        first = self._lines[node.lineno - 1].encode("utf-8")
        if end_line == node.lineno:
            return first[node.col_offset : end_column].decode("utf-8")
        last = self._lines[end_line - 1].encode("utf-8")
        middle = "".join(self._lines[node.lineno : end_line - 1])
        head = first[node.col_offset :].decode("utf-8")
        return head + middle + last[:end_column].decode("utf-8")


class _Compiler:
    def __init__(self, source: str, inputs: Sequence[str]) -> None:
        self._source = _Source(source)
        self._inputs = tuple(inputs)
        self._defined: set[str] = set(inputs)
        self._assigned: list[str] = []
        self._assigned_set: set[str] = set()
        # Built once per program: the vocabulary computes them on each call.
        self._functions = function_names()
        self._methods = method_names()
        self._ops: set[str] = set()
        self._lambda_params: set[str] = set()

    # Statements -----------------------------------------------------------
    def program(self, module: ast.Module) -> ir.Program:
        statements = tuple(self.statement(node) for node in module.body)
        return ir.Program(statements, self._inputs, tuple(self._assigned), frozenset(self._ops))

    def statement(self, node: ast.stmt) -> ir.Stmt:
        text = self._source.segment(node)
        line = node.lineno
        if isinstance(node, ast.Assign):
            return self.assignment(node, line, text)
        if isinstance(node, ast.Expr):
            if not isinstance(node.value, ast.Call):
                raise _fail(node, "an expression statement must be a call, such as y.backward()")
            return ir.Evaluate(self.expression(node.value), line, text)
        if isinstance(node, ast.With):
            return self.grad_mode(node, line, text)
        if isinstance(node, ast.AugAssign):
            return self.augmented(node, line, text)
        raise self._forbidden(node)

    def augmented(self, node: ast.AugAssign, line: int, text: str) -> ir.Assign:
        """``x += y`` is ``x = x.add_(y)``: torch updates the tensor in place, same object."""
        op = AUGMENTED_OPERATORS.get(type(node.op).__name__)
        if op is None:
            known = ", ".join(f"{symbol}=" for symbol in ("+", "-", "*", "/"))
            raise _fail(
                node,
                f"the augmented assignment {type(node.op).__name__} is not part of the step"
                f" language (only {known})",
            )
        target = node.target
        if not isinstance(target, ast.Name):
            raise _fail(
                target,
                "the target of an augmented assignment must be a name: write x[i] = x[i] + y"
                " or x.add_(y) instead",
            )
        receiver = self.expression(target)
        value = self.expression(node.value)
        return ir.Assign((target.id,), False, self._op(op, (receiver, value)), line, text)

    def assignment(self, node: ast.Assign, line: int, text: str) -> ir.Stmt:
        if len(node.targets) != 1:
            raise _fail(node, "chained assignment (a = b = ...) is not part of the step language")
        target = node.targets[0]
        if isinstance(target, ast.Subscript):
            receiver = self.expression(target.value)
            index = self.index(target.slice)
            value = self.expression(node.value)
            return ir.Evaluate(self._op("setitem", (receiver, index, value)), line, text)
        if isinstance(target, ast.Attribute):
            if (
                target.attr == "grad"
                and isinstance(node.value, ast.Constant)
                and node.value.value is None
            ):
                receiver = self.expression(target.value)
                return ir.Evaluate(self._op("clear_grad", (receiver,)), line, text)
            raise _fail(target, "the only attribute that can be assigned is .grad, and only None")
        value = self.expression(node.value)
        if isinstance(target, ast.Name):
            names: tuple[str, ...] = (self.new_name(target),)
            unpack = False
        elif isinstance(target, (ast.Tuple, ast.List)):
            names = tuple(self.new_name(element) for element in target.elts)
            unpack = True
        else:
            raise _fail(target, "an assignment target must be a name, a tuple of names or x[index]")
        for name in names:
            if name not in self._assigned_set:
                self._assigned_set.add(name)
                self._assigned.append(name)
        return ir.Assign(names, unpack, value, line, text)

    def new_name(self, node: ast.expr) -> str:
        if not isinstance(node, ast.Name):
            raise _fail(node, "an unpacking target must contain only names")
        self.check_identifier(node, node.id)
        if node.id in self._functions or node.id in GRAD_MODES:
            # Methods only (x.t(), x.view()) live on tensors: their names stay free.
            raise _fail(node, f"{node.id!r} is a name of the vocabulary and cannot be assigned")
        self._defined.add(node.id)
        return node.id

    def grad_mode(self, node: ast.With, line: int, text: str) -> ir.GradMode:
        if len(node.items) != 1 or node.items[0].optional_vars is not None:
            raise _fail(node, "a with statement takes one grad-mode call and no 'as'")
        call = node.items[0].context_expr
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in GRAD_MODES
        ):
            known = ", ".join(spec.signature() for spec in GRAD_MODES.values())
            raise _fail(call, f"a with statement must use a grad mode: {known}")
        spec = GRAD_MODES[call.func.id]
        enabled: ir.Expr | None = None
        if spec.enabled is None:
            enabled = self.grad_mode_argument(call)
        elif call.args or call.keywords:
            raise _fail(call, f"{call.func.id}() takes no arguments")
        body = tuple(self.statement(statement) for statement in node.body)
        return ir.GradMode(call.func.id, enabled, body, line, text)

    def grad_mode_argument(self, call: ast.Call) -> ir.Const:
        """set_grad_enabled(mode): a constant, so the mode is known when the case loads."""
        assert isinstance(call.func, ast.Name)
        name = call.func.id
        values = list(call.args)
        for keyword in call.keywords:
            if keyword.arg != "mode":
                raise _fail(call, f"{name}() has no argument {keyword.arg!r}")
            values.append(keyword.value)
        if len(values) != 1:
            raise _fail(call, f"{name}() takes exactly one argument, True or False")
        value = values[0]
        if not (isinstance(value, ast.Constant) and isinstance(value.value, bool)):
            raise _fail(value, f"the argument of {name}() must be the constant True or False")
        return ir.Const(value.value)

    # Expressions ----------------------------------------------------------
    def expression(self, node: ast.expr) -> ir.Expr:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float)) or node.value is None:
                return ir.Const(node.value)
            if isinstance(node.value, str):
                raise _fail(
                    node,
                    "str constants are part of the step language only as arguments of a"
                    " call, such as einsum('ij->i', x)",
                )
            raise _fail(
                node, f"{type(node.value).__name__} constants are not part of the step language"
            )
        if isinstance(node, ast.Name):
            self.check_identifier(node, node.id)
            if node.id not in self._defined and node.id not in self._lambda_params:
                raise _fail(node, f"unknown name {node.id!r} (not an input, nor assigned above)")
            return ir.Name(node.id)
        if isinstance(node, ast.BinOp):
            op = BINARY_OPERATORS.get(type(node.op).__name__)
            if op is None:
                raise _fail(
                    node, f"the operator {type(node.op).__name__} is not part of the step language"
                )
            return self._op(op, (self.expression(node.left), self.expression(node.right)))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                operand = self.expression(node.operand)
                if isinstance(operand, ir.Const) and isinstance(operand.value, (int, float)):
                    return ir.Const(-operand.value)
                return self._op("neg", (operand,))
            if isinstance(node.op, ast.UAdd):
                return self.expression(node.operand)
            raise _fail(
                node, f"the operator {type(node.op).__name__} is not part of the step language"
            )
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise _fail(node, "chained comparisons are not part of the step language")
            op = COMPARE_OPERATORS.get(type(node.ops[0]).__name__)
            if op is None:
                raise _fail(
                    node,
                    f"the comparison {type(node.ops[0]).__name__} is not part of the step language",
                )
            return self._op(op, (self.expression(node.left), self.expression(node.comparators[0])))
        if isinstance(node, ast.Subscript):
            return self._op("getitem", (self.expression(node.value), self.index(node.slice)))
        if isinstance(node, ast.Tuple):
            return ir.TupleExpr(tuple(self.expression(item) for item in node.elts))
        if isinstance(node, ast.List):
            return ir.ListExpr(tuple(self.expression(item) for item in node.elts))
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self._forbidden(node)

    def argument(self, node: ast.expr) -> ir.Expr:
        """An argument of a call: an expression, or a string literal (einsum's equation)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return ir.Const(node.value)
        return self.expression(node)

    def attribute(self, node: ast.Attribute) -> ir.Expr:
        self.check_identifier(node, node.attr)
        if node.attr == "T":
            return self._op("T", (self.expression(node.value),))
        if node.attr == "grad":
            return self._op("get_grad", (self.expression(node.value),))
        raise _fail(
            node, f"the attribute .{node.attr} is not part of the step language (only .T and .grad)"
        )

    def index(self, node: ast.expr) -> ir.Expr:
        if isinstance(node, ast.Tuple):
            return ir.TupleExpr(tuple(self.index_item(item) for item in node.elts))
        return ir.TupleExpr((self.index_item(node),))

    def index_item(self, node: ast.expr) -> ir.Expr:
        if isinstance(node, ast.Slice):
            return ir.SliceExpr(
                self.expression(node.lower) if node.lower else None,
                self.expression(node.upper) if node.upper else None,
                self.expression(node.step) if node.step else None,
            )
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return ir.Const(Ellipsis)
        return self.expression(node)

    def call(self, node: ast.Call) -> ir.Expr:
        func = node.func
        if isinstance(func, ast.Name):
            self.check_identifier(func, func.id)
            if func.id not in self._functions:
                raise _fail(
                    func,
                    f"unknown function {func.id!r} (see the vocabulary in docs/vocabulary.md)",
                )
            spec = OPS[func.id]
            args = [self.argument(arg) for arg in node.args]
            return self.bind(node, spec, args, self.keywords(node))
        if isinstance(func, ast.Attribute):
            self.check_identifier(func, func.attr)
            if (
                func.attr == "zero_"
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "grad"
            ):
                if node.args or node.keywords:
                    raise _fail(node, "t.grad.zero_() takes no arguments")
                return self._op("zero_grad", (self.expression(func.value.value),))
            if func.attr not in self._methods:
                raise _fail(
                    func,
                    f"unknown method .{func.attr}() (see the vocabulary in docs/vocabulary.md)",
                )
            receiver = self.expression(func.value)
            if func.attr == "register_hook":
                return self.register_hook(node, receiver)
            args = [self.argument(arg) for arg in node.args]
            keywords = self.keywords(node)
            if func.attr == "backward":
                return self.backward_method(node, receiver, args, keywords)
            return self.bind(node, OPS[func.attr], [receiver, *args], keywords)
        raise _fail(node, "only functions of the vocabulary and methods of a tensor can be called")

    def register_hook(self, node: ast.Call, receiver: ir.Expr) -> ir.Expr:
        """x.register_hook(lambda g: ...): the one place a lambda is part of the language."""
        hooks = [*node.args, *(keyword.value for keyword in node.keywords)]
        for keyword in node.keywords:
            if keyword.arg != "hook":
                raise _fail(node, f"register_hook() has no argument {keyword.arg!r}")
        if len(hooks) != 1 or not isinstance(hooks[0], ast.Lambda):
            raise _fail(
                node, "register_hook() takes one argument, a lambda such as lambda g: g * 2"
            )
        return self._op("register_hook", (receiver, self.hook(hooks[0])))

    def hook(self, node: ast.Lambda) -> ir.Lambda:
        arguments = node.args
        if (
            len(arguments.args) != 1
            or arguments.posonlyargs
            or arguments.vararg
            or arguments.kwonlyargs
            or arguments.kwarg
            or arguments.defaults
        ):
            raise _fail(node, "a hook is a lambda of exactly one plain parameter: lambda g: ...")
        param = arguments.args[0].arg
        self.check_identifier(arguments.args[0], param)
        if param in self._functions or param in GRAD_MODES:
            raise _fail(
                arguments.args[0],
                f"{param!r} is a name of the vocabulary and cannot be a parameter",
            )
        self._lambda_params.add(param)
        try:
            body = self.expression(node.body)
        finally:
            self._lambda_params.discard(param)
        return ir.Lambda(param, body)

    def keywords(self, node: ast.Call) -> dict[str, ir.Expr]:
        result: dict[str, ir.Expr] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _fail(keyword, "**keyword unpacking is not part of the step language")
            self.check_identifier(keyword, keyword.arg)
            result[keyword.arg] = self.argument(keyword.value)
        return result

    def backward_method(
        self, node: ast.Call, receiver: ir.Expr, args: list[ir.Expr], keywords: dict[str, ir.Expr]
    ) -> ir.Expr:
        if len(args) > len(BACKWARD_METHOD_PARAMS):
            raise _fail(node, "t.backward() takes at most 4 arguments")
        bound: dict[str, ir.Expr] = dict(zip(BACKWARD_METHOD_PARAMS, args, strict=False))
        for key, value in keywords.items():
            if key not in BACKWARD_METHOD_PARAMS:
                raise _fail(node, f"t.backward() has no argument {key!r}")
            if key in bound:
                raise _fail(node, f"t.backward() got {key!r} twice")
            bound[key] = value
        gradient = bound.get("gradient", ir.Const(None))
        grad_tensors = gradient if _is_none(gradient) else ir.ListExpr((gradient,))
        return self._op(
            "backward",
            (
                ir.ListExpr((receiver,)),
                grad_tensors,
                bound.get("retain_graph", ir.Const(None)),
                bound.get("create_graph", ir.Const(False)),
                bound.get("inputs", ir.Const(None)),
            ),
        )

    def bind(
        self, node: ast.Call, spec: OpSpec, args: list[ir.Expr], keywords: dict[str, ir.Expr]
    ) -> ir.Expr:
        """Put arguments in signature order, so the backend sees one calling form."""
        bound: dict[str, ir.Expr] = {}
        params = spec.params
        remaining = list(args)
        for param in params:
            if not remaining:
                break
            if param.variadic:
                if len(remaining) == 1 and isinstance(remaining[0], (ir.TupleExpr, ir.ListExpr)):
                    bound[param.name] = ir.TupleExpr(remaining[0].items)
                else:
                    bound[param.name] = ir.TupleExpr(tuple(remaining))
                remaining = []
                break
            bound[param.name] = remaining.pop(0)
        if remaining:
            raise _fail(node, f"{spec.name}() takes at most {len(params)} positional arguments")
        names = {param.name for param in params}
        for key, value in keywords.items():
            if key not in names:
                raise _fail(node, f"{spec.name}() has no argument {key!r}")
            if key in bound:
                raise _fail(node, f"{spec.name}() got {key!r} twice")
            bound[key] = value
        ordered: list[ir.Expr] = []
        for param in params:
            if param.name in bound:
                ordered.append(bound[param.name])
            elif param.default is REQUIRED:
                raise _fail(node, f"{spec.name}() is missing the argument {param.name!r}")
            else:
                ordered.append(ir.Const(param.default))
        if spec.category is Category.CREATION:
            for expr in ordered:
                _check_literal(node, spec.name, expr)
            _check_elements(node, f"{spec.name}()", creation_elements(spec.name, _values(ordered)))
        elif spec.name in ("expand", "repeat"):
            _check_elements(node, f"{spec.name}()", _least_elements(spec.name, ordered[1]))
        return self._op(spec.name, tuple(ordered))

    def _op(self, name: str, args: tuple[ir.Expr, ...]) -> ir.Call:
        self._ops.add(name)
        return ir.Call(name, args)

    # Checks ---------------------------------------------------------------
    def check_identifier(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            raise _fail(
                node, f"names starting with '_' ({name!r}) are not part of the step language"
            )

    def _forbidden(self, node: ast.AST) -> StepSyntaxError:
        return _fail(node, _forbidden_message(node))


def _forbidden_message(node: ast.AST) -> str:
    what = _FORBIDDEN_NODES.get(type(node), type(node).__name__)
    message = f"{what} are not part of the step language"
    if isinstance(node, ast.Lambda):
        message += " (except as the argument of x.register_hook(...))"
    return message


def _is_none(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Const) and expr.value is None


def _check_literal(node: ast.AST, name: str, expr: ir.Expr) -> None:
    """Constants are made on numpy by the runner, so their arguments must be known at load."""
    if isinstance(expr, ir.Const) and isinstance(expr.value, (int, float, bool)):
        return
    if isinstance(expr, ir.Const) and expr.value is None and name != "tensor":
        return  # an optional argument left out, such as arange's end
    if isinstance(expr, (ir.ListExpr, ir.TupleExpr)):
        for item in expr.items:
            _check_literal(node, name, item)
        return
    if name == "tensor":
        raise _fail(node, "tensor() takes a literal number or a nested list of numbers")
    raise _fail(node, f"{name}() takes literal numbers (a shape, a fill value), not tensors")


def _values(exprs: Sequence[ir.Expr]) -> list[object]:
    """The Python values of literal arguments (checked by _check_literal)."""

    def value(expr: ir.Expr) -> object:
        if isinstance(expr, (ir.TupleExpr, ir.ListExpr)):
            return [value(item) for item in expr.items]
        return expr.value if isinstance(expr, ir.Const) else None

    return [value(expr) for expr in exprs]


def _least_elements(name: str, sizes: ir.Expr) -> float | None:
    """The fewest elements ``x.expand(*sizes)`` or ``x.repeat(*sizes)`` can make (constant sizes).

    A size -1 of expand keeps a dim of x, and x has at least one element, so
    counting both as 1 gives a lower bound that needs no knowledge of x.
    """
    if not isinstance(sizes, ir.TupleExpr):
        return None
    items = sizes.items
    if len(items) == 1 and isinstance(items[0], (ir.TupleExpr, ir.ListExpr)):
        items = items[0].items
    numbers = [item.value for item in items if isinstance(item, ir.Const)]
    if len(numbers) != len(items) or not all(isinstance(n, (int, float)) for n in numbers):
        return None
    floor = [1 if name == "expand" and size == -1 else size for size in numbers]
    return shape_elements(floor)


def _check_elements(node: ast.AST, what: str, count: float | None) -> None:
    """A constant shape in the steps is held to the element limit when the file loads."""
    if count is None:
        return
    try:
        TENSOR_ELEMENTS.check(count, what)
    except LimitExceeded as exc:
        raise _fail(node, str(exc)) from None


def _check_size(module: ast.Module) -> None:
    """Depth and number of statements within the limits, before anything recurses on the tree.

    The compiler (and later the runner and the oracle) walk expressions
    recursively; Python's own stack would give out somewhere past a few
    hundred levels, so the depth is measured here without recursion.
    """
    max_depth = EXPRESSION_DEPTH.value()
    max_statements = STEPS_STATEMENTS.value()
    statements = 0
    # (node, its depth, the nearest node with a position). Only nodes with a
    # position count as a level: operators, contexts and ``with`` items are parts
    # of the node above them, not levels a reader sees.
    stack: list[tuple[ast.AST, int, ast.AST]] = [(s, 1, s) for s in reversed(module.body)]
    while stack:
        node, depth, where = stack.pop()
        if hasattr(node, "lineno"):
            where = node
        else:
            depth -= 1
        if depth > max_depth:
            over = LimitExceeded(EXPRESSION_DEPTH, depth, max_depth, "this statement")
            raise _fail(where, str(over))
        if isinstance(node, ast.stmt):
            statements += 1
            if statements > max_statements:
                over = LimitExceeded(STEPS_STATEMENTS, statements, max_statements, "these steps")
                raise _fail(node, str(over))
        children = reversed(list(ast.iter_child_nodes(node)))
        stack.extend((child, depth + 1, where) for child in children)


def _parse(source: str) -> ast.Module:
    """Python's parser on text within the length limit; its every failure is a StepSyntaxError."""
    try:
        STEPS_CHARS.check(len(source), "these steps")
    except LimitExceeded as exc:
        raise StepSyntaxError(1, 1, str(exc)) from None
    try:
        return ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise StepSyntaxError(
            exc.lineno or 0, exc.offset or 0, f"Python syntax: {exc.msg}"
        ) from None
    except (ValueError, RecursionError, MemoryError):
        # How Python's parser gives up on nesting it cannot handle (50,000 unary
        # minus signs, a sum of 20,000 terms), before allocating much: the text
        # is within the length limit.
        raise StepSyntaxError(1, 1, "nested too deeply for Python's parser") from None


def _hook_lambdas(module: ast.Module) -> set[int]:
    """The lambdas written as the argument of a .register_hook(...) call (by node id)."""
    found: set[int] = set()
    for node in ast.walk(module):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register_hook"
        ):
            for value in [*node.args, *(keyword.value for keyword in node.keywords)]:
                if isinstance(value, ast.Lambda):
                    found.add(id(value))
    return found


def compile_steps(source: str, inputs: Sequence[str]) -> ir.Program:
    """Compile the text of a case's ``steps``; raises StepSyntaxError.

    Linear in the length of the text, and within the limits of
    conformance.limits (length, statements, nesting, constant shapes).
    """
    module = _parse(source)
    _check_size(module)
    hooks = _hook_lambdas(module)
    for node in ast.walk(module):
        if type(node) in _FORBIDDEN_NODES and id(node) not in hooks:
            raise _fail(node, _forbidden_message(node))
    return _Compiler(source, inputs).program(module)
