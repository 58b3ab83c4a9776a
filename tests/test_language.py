"""The step language: what it accepts compiles to IR; everything else is refused with its place.

The language is parsed, never evaluated, so a hostile case file can do no
harm; these tests try the usual ways out (imports, dunders, attribute walks,
builtins) and check that each is refused at its line and column.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.errors import CaseFileError
from conformance.language import StepSyntaxError, compile_steps, ir
from conformance.language.vocabulary import OPS
from conformance.model import CaseFile

LoadCases = Callable[..., CaseFile]


def rejection(source: str, inputs: tuple[str, ...] = ("x",)) -> StepSyntaxError:
    with pytest.raises(StepSyntaxError) as info:
        compile_steps(source, inputs)
    return info.value


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        pytest.param("import os", 1, 1, "imports are not part", id="import"),
        pytest.param("y = x\nfrom os import path", 2, 1, "imports are not part", id="from-import"),
        pytest.param("f = lambda t: t", 1, 5, "lambdas are not part", id="lambda"),
        pytest.param("y = __import__('os')", 1, 5, "'__import__'", id="dunder-call"),
        pytest.param("y = x.__class__", 1, 5, "'__class__'", id="dunder-attribute"),
        pytest.param(
            "y = x.__class__.__mro__[1].__subclasses__()", 1, 5, "'_", id="attribute-walk"
        ),
        pytest.param("y = x._version", 1, 5, "'_version'", id="private-attribute"),
        pytest.param("__builtins__ = x", 1, 1, "'__builtins__'", id="dunder-target"),
        pytest.param("y = grad(x, x, __kw=1)", 1, 16, "'__kw'", id="dunder-keyword"),
        pytest.param("y = x.data", 1, 5, "the attribute .data", id="attribute"),
        pytest.param("y = x.grad_fn", 1, 5, "the attribute .grad_fn", id="grad-fn-attribute"),
        pytest.param("y = z + x", 1, 5, "unknown name 'z'", id="unknown-name"),
        pytest.param("y = x\ny = q", 2, 5, "unknown name 'q'", id="unknown-name-line-2"),
        pytest.param("y = y + x", 1, 5, "unknown name 'y'", id="used-before-assignment"),
        pytest.param("y = eval('x')", 1, 5, "unknown function 'eval'", id="eval"),
        pytest.param("y = open(x)", 1, 5, "unknown function 'open'", id="open"),
        pytest.param("y = getattr(x, 'grad')", 1, 5, "unknown function 'getattr'", id="getattr"),
        pytest.param("y = torch.exp(x)", 1, 5, "unknown name 'torch'", id="module-call"),
        pytest.param("y = x.numpy()", 1, 5, "unknown method .numpy()", id="unknown-method"),
        pytest.param("y = x.item()", 1, 5, "unknown method .item()", id="unknown-method-item"),
        pytest.param("y = exp(x)(x)", 1, 5, "only functions of the vocabulary", id="call-result"),
        pytest.param("y = 'text'", 1, 5, "str constants", id="string"),
        pytest.param("y = f'{x}'", 1, 5, "f-strings", id="f-string"),
        pytest.param("y = [t for t in x]", 1, 5, "comprehensions", id="comprehension"),
        pytest.param("for t in x:\n    y = t", 1, 1, "loops", id="for"),
        pytest.param("while x:\n    y = x", 1, 1, "loops", id="while"),
        pytest.param("if x:\n    y = x", 1, 1, "if statements", id="if"),
        pytest.param("def f(t):\n    return t", 1, 1, "function definitions", id="def"),
        pytest.param("class C:\n    pass", 1, 1, "class definitions", id="class"),
        pytest.param("y = {1: x}", 1, 5, "dicts", id="dict"),
        pytest.param("y = x and x", 1, 5, "and/or", id="bool-op"),
        pytest.param("y = x if x else x", 1, 5, "conditional expressions", id="ternary"),
        pytest.param("y = x\ny //= x", 2, 1, "augmented assignment", id="aug-assign"),
        pytest.param("del x", 1, 1, "del statements", id="del"),
        pytest.param("y = (z := x)", 1, 6, "assignment expressions", id="walrus"),
        pytest.param("y = x // 2", 1, 5, "FloorDiv", id="floor-division"),
        pytest.param("y = ~x", 1, 5, "Invert", id="invert"),
        pytest.param("y = 0 < x < 1", 1, 5, "chained comparisons", id="chained-compare"),
        pytest.param("y = x in x", 1, 5, "comparison In", id="in"),
        pytest.param("y = z = x", 1, 1, "chained assignment", id="chained-assign"),
        pytest.param("x + 1", 1, 1, "must be a call", id="bare-expression"),
        pytest.param("exp = x", 1, 1, "'exp' is a name of the vocabulary", id="shadow-op"),
        pytest.param("no_grad = x", 1, 1, "'no_grad' is a name", id="shadow-grad-mode"),
        pytest.param("x.grad = x", 1, 1, "only attribute that can be assigned", id="grad-set"),
        pytest.param("x.data = None", 1, 1, "only attribute that can be assigned", id="data-set"),
        pytest.param(
            "y = grad(x, x, create_grap=True)", 1, 5, "no argument 'create_grap'", id="kw"
        ),
        pytest.param("y = grad(x)", 1, 5, "missing the argument 'inputs'", id="missing-arg"),
        pytest.param("y = exp(x, x)", 1, 5, "at most 1 positional", id="too-many-args"),
        pytest.param("y = grad(x, x, inputs=x)", 1, 5, "got 'inputs' twice", id="twice"),
        pytest.param("y = exp(**x)", 1, 9, "keyword unpacking", id="kwargs-unpacking"),
        pytest.param("x.backward(foo=1)", 1, 1, "no argument 'foo'", id="backward-kw"),
        pytest.param("with open(x):\n    y = x", 1, 6, "must use a grad mode", id="with-open"),
        pytest.param("with no_grad() as g:\n    y = x", 1, 1, "no 'as'", id="with-as"),
        pytest.param("with no_grad(x):\n    y = x", 1, 6, "takes no arguments", id="mode-args"),
        pytest.param("y = tensor(x)", 1, 5, "literal number", id="tensor-from-name"),
        pytest.param("y = x +", 1, 8, "Python syntax", id="python-syntax"),
    ],
)
def test_rejected_with_place(source: str, line: int, column: int, fragment: str) -> None:
    error = rejection(source)
    assert (error.line, error.column) == (line, column)
    assert fragment in error.message


def test_rejections_say_the_construct_is_outside_the_language() -> None:
    assert rejection("import os").message == "imports are not part of the step language"
    assert "not part of the step language" in rejection("y = x.__class__").message


def test_nested_forbidden_node_is_found_anywhere() -> None:
    # The lambda hides inside an otherwise valid call.
    assert "lambdas" in rejection("y = x\nz = exp(sum(x, dim=lambda: 0))").message


@pytest.mark.parametrize(
    "source",
    [
        "y = x ** 2 + 3 * x - x / 2",
        "y = -x @ x.T",
        "y = x[:, 0] + x[1:, ...][0]",
        "y = x[x > 0]",
        "g = grad(x * x, x, grad_outputs=ones_like(x), create_graph=True)[0]",
        "y = sum(x)\ny.backward(retain_graph=True)\nz = x.grad",
        "y = x.sum(dim=0, keepdim=True).reshape(1, -1)",
        "x.grad = None",
        "y = x * 1\nx.grad.zero_()",
        "with no_grad():\n    y = x * 2\nz = y.detach()",
        "a, b = grad([sum(x), sum(x * x)], [x, x])",
        "y = cat([x, x], dim=0)\nt = tensor([[1, 2], [3.5, -4]], requires_grad=True)",
        "y = x * 1\ny.retain_grad()\nx.requires_grad_(False)",
    ],
)
def test_accepted(source: str) -> None:
    program = compile_steps(source, ("x",))
    assert program.inputs == ("x",)
    # Every line is a statement: nothing was dropped on the way.
    assert program.statement_lines() == set(range(1, source.count("\n") + 2))


def test_arguments_are_bound_in_signature_order() -> None:
    program = compile_steps(
        "g = grad(x, x, create_graph=True, grad_outputs=ones_like(x))[0]", ("x",)
    )
    (statement,) = program.statements
    assert isinstance(statement, ir.Assign)
    getitem = statement.value
    assert isinstance(getitem, ir.Call) and getitem.op == "getitem"
    call = getitem.args[0]
    assert isinstance(call, ir.Call) and call.op == "grad"
    x = ir.Name("x")
    # Read each argument by its parameter's name: the call wrote them out of order.
    bound = dict(zip((param.name for param in OPS["grad"].params), call.args, strict=True))
    assert bound["outputs"] == x
    assert bound["inputs"] == x
    assert bound["grad_outputs"] == ir.Call("ones_like", (x,))
    assert bound["create_graph"] == ir.Const(True)
    assert bound["retain_graph"] == ir.Const(None)  # the default fills the gap
    assert program.ops == {"grad", "getitem", "ones_like"}


def test_backward_method_becomes_the_backward_function() -> None:
    (statement,) = compile_steps("x.backward(ones_like(x), create_graph=True)", ("x",)).statements
    assert isinstance(statement, ir.Evaluate)
    x = ir.Name("x")
    # tensors, grad_tensors, retain_graph, create_graph, inputs
    assert statement.value == ir.Call(
        "backward",
        (
            ir.ListExpr((x,)),
            ir.ListExpr((ir.Call("ones_like", (x,)),)),
            ir.Const(None),
            ir.Const(True),
            ir.Const(None),
        ),
    )


def test_negative_literals_fold_and_names_negate() -> None:
    (first, second) = compile_steps("a = -2.5\nb = -x", ("x",)).statements
    assert isinstance(first, ir.Assign) and first.value == ir.Const(-2.5)
    assert isinstance(second, ir.Assign) and second.value == ir.Call("neg", (ir.Name("x"),))


def test_assigned_names_and_statement_lines() -> None:
    program = compile_steps("y = x\nwith no_grad():\n    z = y * 2\ny = z", ("x",))
    assert program.assigned == ("y", "z")
    assert program.statement_lines() == {1, 2, 3, 4}


def test_rejection_through_the_loader_is_located_in_the_yaml(load_cases: LoadCases) -> None:
    text = """\
    schema_version: "1.0"
    cases:
      - id: escape
        description: A step that reaches for the class of a tensor is refused.
        kind: math
        inputs:
          x: {value: 1.0}
        steps: |
          y = x * 2

          z = y.__class__
        expect:
          y: {value: 2.0}
    """
    with pytest.raises(CaseFileError) as info:
        load_cases(text)
    # steps line 3 is YAML line 11; the attribute starts at column 5 of the steps, 11 of the file.
    assert (info.value.location.line, info.value.location.column) == (11, 11)
    assert info.value.case_id == "escape"
    assert "'__class__'" in str(info.value)
