"""The limits: each holds at its documented value, is raised by its variable, and is checked early.

Boundaries are tested with the limit lowered through its environment
variable (the way an author raises one), so each test stays small: exactly
at the limit loads, one over is a located error naming the limit and the
variable. The run-time check is compared with what numpy really builds.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.arrays import ValueSpecError, build_array
from conformance.errors import CaseFileError
from conformance.language import compile_steps, ir
from conformance.limits import (
    LIMITS,
    TENSOR_ELEMENTS,
    LimitConfigError,
    LimitExceeded,
    check_step_elements,
    result_elements,
)
from conformance.loader import load_case_file
from conformance.model import CaseFile
from conformance.numpy_ops import NUMPY_OPS
from conformance.yamlsource import parse_yaml

LoadCases = Callable[..., CaseFile]
DOCS = Path(__file__).resolve().parent.parent / "docs" / "case-format.md"


def case(steps: str = "y = x * 2", x: str = "3.0", y: str = "6.0") -> str:
    return f"""\
schema_version: "1.0"
cases:
  - id: limited
    description: A case at the edge of a limit.
    kind: math
    inputs:
      x: {{value: {x}, requires_grad: true}}
    steps: |
      {steps}
    expect:
      y: {{value: {y}}}
"""


def refused(load_cases: LoadCases, text: str, variable: str) -> CaseFileError:
    with pytest.raises(CaseFileError) as info:
        load_cases(text)
    message = str(info.value)
    assert "over the limit" in message and variable in message, message
    return info.value


# The documentation ------------------------------------------------------------------
def test_every_limit_is_documented_with_its_value_and_variable() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Limits") :]
    for limit in LIMITS:
        row = next((line for line in section.splitlines() if limit.variable in line), None)
        assert row is not None, f"{limit.variable} is not in the Limits section"
        assert f"{limit.default:,}" in row, row


# At load, each limit at its boundary ----------------------------------------------------
def test_elements_of_a_value(load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS", "12")
    load_cases(case(x="{zeros: [3, 4]}", y="{zeros: [3, 4]}"))
    error = refused(
        load_cases, case(x="{zeros: [13]}", y="{zeros: [13]}"), "AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS"
    )
    assert error.location.line == 7
    assert "inputs.x.value: this value would have 13 elements" in str(error)


def test_elements_of_the_default_limit_are_a_million(load_cases: LoadCases) -> None:
    load_cases(case(steps="y = ones(1000, 1000)", y="{ones: [1000, 1000]}"))
    error = refused(load_cases, case(y="{ones: [1000, 1001]}"), "AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS")
    assert error.location.line == 11
    assert "1,001,000 elements, over the limit of 1,000,000 elements in one tensor" in str(error)


def test_elements_of_a_file(load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_FILE_ELEMENTS", "10")
    load_cases(case(x="[1, 2, 3, 4, 5]", y="[2, 4, 6, 8, 10]"))
    error = refused(
        load_cases, case(x="[1, 2, 3, 4, 5]", y="[2, 4, 6, 8, 10, 12]"), "FILE_ELEMENTS"
    )
    assert error.location.line == 11


@pytest.mark.parametrize(
    ("steps", "what"),
    [
        ("y = ones(3, 5)", "ones()"),
        ("y = zeros((15,))", "zeros()"),
        ("y = full((5, 3), 1.0)", "full()"),
        ("y = arange(15)", "arange()"),
        ("y = arange(1, 31, 2)", "arange()"),
        ("y = tensor([[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]])", "tensor()"),
        ("y = eye(4)", "eye()"),
        ("y = x.expand(3, 5)", "expand()"),
        ("y = x.expand(3, 5, -1)", "expand()"),
        ("y = x.repeat(5, 3)", "repeat()"),
    ],
)
def test_constant_shapes_in_steps_are_checked_at_load(
    load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch, steps: str, what: str
) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS", "14")
    with pytest.raises(CaseFileError) as info:
        load_cases(case(steps=steps))
    assert info.value.location.line == 9
    assert f"{what} would have" in str(info.value)
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS", "16")
    load_cases(case(steps=steps))


def test_statements(load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_STEPS_STATEMENTS", "3")
    load_cases(case(steps="z = x\n      w = z\n      y = w * 2"))
    error = refused(
        load_cases, case(steps="z = x\n      w = z\n      v = w\n      y = v * 2"), "STATEMENTS"
    )
    assert error.location.line == 12  # the fourth statement


def test_depth(load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement is level 1, its value level 2, each call inside one more."""
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_EXPRESSION_DEPTH", "10")
    load_cases(case(steps="y = " + "exp(" * 8 + "x" + ")" * 8))
    error = refused(load_cases, case(steps="y = " + "exp(" * 9 + "x" + ")" * 9), "EXPRESSION_DEPTH")
    assert error.location.line == 9


def test_default_depth_is_a_hundred(load_cases: LoadCases) -> None:
    load_cases(case(steps="y = " + "exp(" * 98 + "x" + ")" * 98))
    refused(load_cases, case(steps="y = " + "exp(" * 99 + "x" + ")" * 99), "EXPRESSION_DEPTH")


def test_steps_characters(load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_STEPS_CHARS", "11")
    load_cases(case(steps="y = x * 20"))  # 10 characters and the block's final newline
    refused(load_cases, case(steps="y = x * 200"), "STEPS_CHARS")


def test_rule_characters(load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_RULE_CHARS", "5")
    load_cases(case(x='{rule: {shape: [2], expr: "i + 1"}}', y="[2, 4]"))
    refused(load_cases, case(x='{rule: {shape: [2], expr: "i + 10"}}', y="[20, 22]"), "RULE")


def test_yaml_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The top mapping is level 1; ``a: [[1]]`` has 4 levels (the scalar 1 is the fourth)."""
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_YAML_DEPTH", "4")
    assert parse_yaml("a: [[1]]\n", "d.yaml") == {"a": [[1]]}
    with pytest.raises(CaseFileError) as info:
        parse_yaml("a: [[[1]]]\n", "d.yaml")
    assert "5 levels of nesting" in str(info.value)
    assert "AUTOGRAD_SPEC_MAX_YAML_DEPTH" in str(info.value)


def test_yaml_nodes_count_aliases_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_YAML_NODES", "9")
    # mapping, key a, [1, 2] (3 nodes), key b, and b's alias of those 3 nodes: 9
    assert parse_yaml("a: &v [1, 2]\nb: *v\n", "n.yaml") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(CaseFileError) as info:
        parse_yaml("a: &v [1, 2]\nb: *v\nc: 3\n", "n.yaml")
    assert "11 YAML nodes" in str(info.value)


def test_file_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_FILE_BYTES", str(len(case().encode())))
    path = tmp_path / "bytes.yaml"
    path.write_text(case(), encoding="utf-8")
    load_case_file(path)
    path.write_text(case() + "#", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    assert "over the limit" in str(info.value) and "FILE_BYTES" in str(info.value)


def test_a_malformed_setting_is_an_error_of_the_run(
    load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS", "lots")
    with pytest.raises(LimitConfigError, match="AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS='lots'"):
        load_cases(case())


# At run time ------------------------------------------------------------------------------
def big(*shape: int) -> np.ndarray:
    """A read-only array of any shape that takes no memory (a broadcast scalar)."""
    return np.broadcast_to(np.float64(0), shape)


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("ones", [(32000, 32000), False]),
        ("zeros", [((1001, 1000),), False]),
        ("full", [(2000, 2000), 1.0, False]),
        ("arange", [0, 1e12, 1, False]),
        ("arange", [0, 1e308, 1e-308, False]),
        ("eye", [1001, False]),
        ("expand", [big(1, 3), (1_000_000, -1)]),
        ("repeat", [big(2, 3), (1000, 1000)]),
        ("mul", [big(2000, 1), big(1, 2000)]),
        ("where", [big(2000, 1, 1), big(1, 2000), 0.0]),
        ("matmul", [big(2000, 1), big(1, 2000)]),
        ("bmm", [big(10, 1000, 1), big(10, 1, 1000)]),
        ("outer", [big(2000), big(2000)]),
        ("einsum", ["i,j->ij", [big(2000), big(2000)]]),
        ("einsum", ["i,j", [big(2000), big(2000)]]),
        ("cat", [[big(600_000), big(600_000)], 0]),
        ("stack", [[big(600_000), big(600_000)], 0]),
        ("diag", [big(1001), 0]),
    ],
)
def test_the_run_time_check_refuses_before_building(op: str, args: list[Any]) -> None:
    with pytest.raises(LimitExceeded) as info:
        check_step_elements(op, args)
    message = str(info.value)
    assert message.startswith(f"{op}() would have ")
    assert "over the limit of 1,000,000 elements in one tensor" in message
    assert "AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS" in message


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("ones", [(1000, 1000), False]),
        ("arange", [0, 10, 0, False]),  # a zero step: numpy refuses it itself
        ("expand", [big(1, 3), (1000, -1)]),
        ("mul", [big(1000, 1), big(1, 1000)]),
        ("einsum", ["ij,jk->ik", [big(1000, 1000), big(1000, 1000)]]),
        ("einsum", ["...i,i->...", [big(1000, 1000), big(1000)]]),  # not estimated
        ("exp", [big(1000, 1000)]),
        ("sum", [big(2000, 2000), None, False]),  # the input, not the result, is large
        ("mul", [object(), big(1, 2000)]),  # a shape that cannot be read: not checked
    ],
)
def test_the_run_time_check_lets_the_rest_through(op: str, args: list[Any]) -> None:
    check_step_elements(op, args)


def test_the_run_time_check_reads_shapes_as_told() -> None:
    class Engine:
        def __init__(self, dims: tuple[int, ...]) -> None:
            self.dims = dims

    with pytest.raises(LimitExceeded):
        check_step_elements("expand", [Engine((1, 3)), (10**6, 3)], lambda t: t.dims)
    check_step_elements("expand", [Engine((1, 3)), (10, 3)], lambda t: t.dims)


def test_a_raised_limit_holds_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS", str(32000 * 32000))
    check_step_elements("ones", [(32000, 32000), False])
    assert TENSOR_ELEMENTS.value() == 32000 * 32000


SMALL = st.lists(st.integers(1, 3), max_size=3).map(tuple)


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(
    st.sampled_from(
        ["add", "mul", "where", "matmul", "outer", "expand", "repeat", "cat", "einsum"]
    ),
    SMALL,
    SMALL,
    SMALL,
)
def test_the_estimate_is_the_size_numpy_builds(
    op: str, first: tuple[int, ...], second: tuple[int, ...], sizes: tuple[int, ...]
) -> None:
    """For small shapes, what the check counts is what numpy makes (when numpy makes anything)."""
    a, b = np.ones(first), np.ones(second)
    args: list[Any] = {
        "add": [a, b],
        "mul": [a, b],
        "where": [a > 0, a, b],
        "matmul": [a, b],
        "outer": [a.reshape(-1), b.reshape(-1)],
        "expand": [a, tuple(-1 if i % 2 else s for i, s in enumerate(sizes + first))],
        "repeat": [a, sizes + first],
        "cat": [[a, b], 0],
        "einsum": ["ij,jk->ik", [a, b]],
    }[op]
    try:
        with np.errstate(all="ignore"):
            made = np.asarray(NUMPY_OPS[op](*args))
    except (ValueError, IndexError, TypeError):
        return  # numpy refuses these shapes: the estimate may be anything
    assert result_elements(op, args) == made.size


# Values ---------------------------------------------------------------------------------
def test_a_rule_over_many_chunks_gives_every_element() -> None:
    rows, columns = np.indices((300, 300))
    built = build_array({"rule": {"shape": [300, 300], "expr": "i * 1000 + j - 2 * i"}}, "float64")
    np.testing.assert_array_equal(built, rows * 1000.0 + columns - 2.0 * rows)


@pytest.mark.parametrize(
    "expr", ["1 / 0", "1 % 0", "1 // 0", "10 ** 400", "0 / 0", "(i - 1) ** 0.5", "1e308 * 10"]
)
def test_a_rule_that_is_not_finite_everywhere_is_refused(expr: str) -> None:
    with pytest.raises(ValueSpecError, match="finite number at every index"):
        build_array({"rule": {"shape": [2], "expr": expr}}, "float64")


def test_a_value_over_the_limit_is_refused_before_it_is_built() -> None:
    with pytest.raises(LimitExceeded, match="this value would have 10,000,000,000 elements"):
        build_array({"zeros": [100_000, 100_000]}, "float64")


# Loading is linear ----------------------------------------------------------------------
def long_case(statements: int) -> str:
    steps = "\n      ".join(f"y{i} = x * {i}" for i in range(statements))
    return case(steps=steps + "\n      y = x * 2")


def test_loading_time_grows_linearly_with_the_steps(
    load_cases: LoadCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten times the statements takes about ten times as long, not a hundred (it did)."""
    monkeypatch.setenv("AUTOGRAD_SPEC_MAX_STEPS_STATEMENTS", "5000")

    def seconds(statements: int) -> float:
        text = long_case(statements)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            load_cases(text)
            best = min(best, time.perf_counter() - start)
        return best

    short, long = seconds(200), seconds(2000)
    assert long < 30 * short, (short, long)


def test_each_statement_keeps_its_own_text() -> None:
    """The text kept per statement is exactly Python's own segment, odd line ends included."""
    source = (
        "y = exp(x) * 2  # é\r\n"
        "z = einsum('i,i->',\n"
        "           x,\n"
        "           y)\n"
        "\f\n"
        "with no_grad():\r  w = x * 3\n"
        "v = x + 1"
    )
    program = compile_steps(source, ["x"])

    def flatten(statements: tuple[ir.Stmt, ...]) -> list[ir.Stmt]:
        found: list[ir.Stmt] = []
        for statement in statements:
            found.append(statement)
            if isinstance(statement, ir.GradMode):
                found.extend(flatten(statement.body))
        return found

    def walk(nodes: list[ast.stmt]) -> list[ast.stmt]:
        found: list[ast.stmt] = []
        for node in nodes:
            found.append(node)
            if isinstance(node, ast.With):
                found.extend(walk(node.body))
        return found

    expected = [ast.get_source_segment(source, node) for node in walk(ast.parse(source).body)]
    assert [statement.source for statement in flatten(program.statements)] == expected
    assert re.search(r"x,\n\s+y\)", flatten(program.statements)[1].source)


@settings(max_examples=30, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_a_shape_of_any_size_is_counted_without_building(rows: int, columns: int) -> None:
    spec = {"random": {"shape": [rows, columns], "seed": 0}}
    if rows * columns > TENSOR_ELEMENTS.value():
        with pytest.raises(LimitExceeded):
            build_array(spec, "float32")
    else:
        assert build_array(spec, "float32").shape == (rows, columns)
