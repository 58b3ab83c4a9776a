"""Fuzz the loader and the step language: whatever the input, a located error or cases.

Six properties, each over inputs hypothesis generates: raw bytes, YAML-like
text, mutations of real case files (odd bytes and unicode, Python tags, alias
bombs, huge shapes spliced in), case files built from a grammar of value
specs and steps, programs of the step language (forbidden Python, deep and
long programs), and value specs alone. For each input, loading ends in cases
or in one CaseFileError (StepSyntaxError or ValueSpecError for the parts
tested alone) that is not a fault of the loader, within a few seconds and a
bounded amount of memory, and nothing is executed (Python's audit hooks
watch for code run, processes started and files written).

In the normal test run each property sees a few dozen inputs, the same ones
every time. The long run draws fresh inputs, as many per property as
``AUTOGRAD_SPEC_FUZZ_EXAMPLES`` says, and prints a tally per property:

    AUTOGRAD_SPEC_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz_loader.py -s -q

(six properties: 12,000 inputs).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_hostile_inputs import (
    HANG_SECONDS,
    TEMPLATE,
    assert_sound,
    load_guarded,
    memory_cap,
    nothing_executed,
)

from conformance.arrays import ValueSpecError, build_array
from conformance.errors import CaseFileError
from conformance.language import StepSyntaxError, compile_steps, ir
from conformance.limits import EXPRESSION_DEPTH, STEPS_STATEMENTS, TENSOR_ELEMENTS, LimitExceeded

LONG_RUN = int(os.environ.get("AUTOGRAD_SPEC_FUZZ_EXAMPLES", "0") or 0)
CASES = Path(__file__).resolve().parent.parent / "cases"


def fuzz(ci_examples: int) -> Callable[[Any], Any]:
    """Settings: a fixed few inputs in the normal run, many fresh ones in the long run."""
    return settings(
        max_examples=LONG_RUN or ci_examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


@dataclass
class Tally:
    """What one property saw, printed at its end (visible with -s)."""

    name: str
    inputs: int = 0
    accepted: int = 0
    refused: int = 0
    slowest: float = 0.0

    def add(self, accepted: bool, seconds: float) -> None:
        self.inputs += 1
        self.accepted += accepted
        self.refused += not accepted
        self.slowest = max(self.slowest, seconds)
        assert seconds < HANG_SECONDS, f"{seconds:.1f} s for one input"

    def report(self) -> None:
        print(
            f"\nfuzz {self.name}: {self.inputs} inputs, {self.accepted} accepted,"
            f" {self.refused} located errors, 0 escapes, 0 executed,"
            f" slowest {self.slowest:.3f} s"
        )


def check_file(path: Path, data: bytes, tally: Tally) -> None:
    path.write_bytes(data)
    loaded = load_guarded(path, "fuzz.yaml")
    assert_sound(loaded)
    if isinstance(loaded.result, CaseFileError):
        assert str(loaded.result).startswith("fuzz.yaml")
    tally.add(not isinstance(loaded.result, CaseFileError), loaded.seconds)


# Pieces a hostile author would splice in -------------------------------------------------
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    for prev, name in zip("abcdefg", "bcdefgh", strict=True)
)
TEXT_PIECES = [
    "\x00",
    "\u2028",
    "\u2029",
    "\u202e",
    "\ufeff",
    "\x85",
    "\t",
    "\r",
    "\r\n",
    "é",
    "日本",
    "\U0001f600",
    "&a ",
    "*a",
    "<<: *a",
    "!!python/object/apply:os.system ['touch executed']",
    "!!python/name:os.system ''",
    "!!python/module:os ''",
    "!!binary aGk=",
    "!!float abc",
    "!!timestamp x",
    "!!set {a}",
    "!custom x",
    "[" * 60,
    "{" * 30,
    "- " * 50,
    "? ",
    ": ",
    "---\n",
    "...\n",
    "'",
    '"',
    "{zeros: [100000, 100000]}",
    "{eye: 100000}",
    '{rule: {shape: [3], expr: "1 / 0"}}',
    '{rule: {shape: [2], expr: "10 ** 400"}}',
    "{random: {shape: [2], seed: 0, low: -1.0e+308, high: 1.0e+308}}",
    "1.0e+400",
    ".nan",
    "-.inf",
    "1" * 5000,
    "y = ones(32000, 32000)\n",
    "y = x.expand(100000, 100000)\n",
    "import os\n",
    "__import__('os').system('touch executed')",
    "x.__class__",
    "lambda g: g",
    "-" * 3000 + "x",
    " + x" * 3000,
    ".exp()" * 500,
    "with no_grad():\n",
    ALIAS_BOMB,
]
BYTE_PIECES = [b"\xff", b"\xfe\xff", b"\xc3(", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xf8\x88"]


def seeds() -> list[bytes]:
    """Real case files to mutate: the hostile template and a few small bundled files."""
    found = [TEMPLATE.encode()]
    for name in ("basic/output-shapes.yaml", "accumulation/backward-accumulates.yaml"):
        path = CASES / name
        if path.is_file():
            found.append(path.read_bytes())
    return found


SEEDS = seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real case file with one to four edits: pieces spliced in, spans cut, lines doubled."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["text", "bytes", "random", "cut", "line"]))
        if kind == "text":
            data[at:at] = draw(st.sampled_from(TEXT_PIECES)).encode("utf-8")
        elif kind == "bytes":
            data[at:at] = draw(st.sampled_from(BYTE_PIECES))
        elif kind == "random":
            data[at:at] = draw(st.text(max_size=20)).encode("utf-8", "surrogatepass")
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        else:
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index] * draw(st.integers(1, 3)))
            data = bytearray(b"\n".join(lines))
    return bytes(data)


YAML_TOKENS = [
    "schema_version: '1.0'\n",
    "cases:\n",
    "  - id: c\n",
    "    description: a case of the fuzz\n",
    "    kind: math\n",
    "    inputs:\n",
    "      x: {value: 1.0, requires_grad: true}\n",
    "    steps: |\n      y = x * 2\n",
    "    expect:\n      y: {value: 2.0}\n",
    "    raises: {line: 1}\n",
    "- ",
    "  ",
    ": ",
    ", ",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "&a ",
    "*a ",
    "!!str ",
    "!!int ",
    "!!map ",
    "!!seq ",
    "|\n",
    ">\n",
    "#",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
]


@st.composite
def yaml_like(draw: st.DrawFn) -> bytes:
    pieces = draw(
        st.lists(st.sampled_from(YAML_TOKENS + TEXT_PIECES) | st.text(max_size=8), max_size=40)
    )
    return "".join(pieces).encode("utf-8", "surrogatepass")


# A grammar of case files --------------------------------------------------------------
SIZES = st.one_of(st.integers(0, 4), st.integers(0, 10**12), st.integers(-3, -1))
SHAPES = st.lists(SIZES, max_size=5)
SCALARS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**30), 10**30),
    st.booleans(),
    st.sampled_from(["nan", "inf", "-inf", "oops", ""]),
)
RULE_LEAVES = st.sampled_from(["i", "j", "k", "l", "m", "0", "1", "2.5", "1e308", "400", "x()"])
RULE_OPERATORS = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "@", "and", "<"])


def rule_expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        RULE_LEAVES,
        lambda inner: st.one_of(
            st.tuples(inner, RULE_OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"-{e}"),
            st.integers(1, 3000).map(lambda n: "-" * n + "i"),
        ),
        max_leaves=20,
    )


def literals() -> st.SearchStrategy[Any]:
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=30)


def value_specs() -> st.SearchStrategy[Any]:
    return st.one_of(
        literals(),
        SHAPES.map(lambda shape: {"zeros": shape}),
        SHAPES.map(lambda shape: {"ones": shape}),
        st.tuples(SHAPES, SCALARS).map(lambda t: {"full": {"shape": t[0], "fill": t[1]}}),
        SIZES.map(lambda n: {"eye": n}),
        st.tuples(SHAPES, SCALARS, SCALARS).map(
            lambda t: {"arange": {"shape": t[0], "start": t[1], "step": t[2]}}
        ),
        st.tuples(st.lists(st.integers(0, 5), max_size=5), rule_expressions()).map(
            lambda t: {"rule": {"shape": t[0], "expr": t[1]}}
        ),
        st.tuples(SHAPES, st.integers(-1, 2**70), SCALARS, SCALARS).map(
            lambda t: {"random": {"shape": t[0], "seed": t[1], "low": t[2], "high": t[3]}}
        ),
        st.dictionaries(st.sampled_from(["zeros", "eye", "rule", "bogus"]), SHAPES, max_size=2),
    )


NAMES = ["x", "w", "y", "z", "g", "undefined", "_hidden", "__class__", "eval", "open", "grad"]
FUNCTIONS = [
    "exp",
    "sum",
    "grad",
    "ones",
    "zeros",
    "full",
    "arange",
    "eye",
    "tensor",
    "einsum",
    "where",
    "cat",
    "stack",
    "ones_like",
    "eval",
    "exec",
    "open",
    "__import__",
    "getattr",
    "globals",
    "print",
]
METHODS = ["exp", "sum", "backward", "expand", "repeat", "register_hook", "detach", "__class__"]
ATTRIBUTES = ["T", "grad", "data", "__dict__", "__class__", "shape"]
OPERATORS = ["+", "-", "*", "/", "**", "@", "//", "%", "<", "==", "<<", "and", "if 1 else"]
NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.sampled_from(["100000", "32000", "1e12", "1e308", "-1", "0.5", "10 ** 400", "1" * 30]),
)


def step_expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(NAMES), NUMBERS.map(str), st.just("'ij->i'"))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        args = st.lists(inner, max_size=3).map(", ".join)
        return st.one_of(
            st.tuples(inner, st.sampled_from(OPERATORS), inner).map(" ".join),
            inner.map(lambda e: f"-{e}"),
            st.tuples(st.sampled_from(FUNCTIONS), args).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(METHODS), args).map(
                lambda t: f"{t[0]}.{t[1]}({t[2]})"
            ),
            st.tuples(inner, st.sampled_from(ATTRIBUTES)).map(lambda t: f"{t[0]}.{t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}, :, None, ...]"),
            args.map(lambda a: f"[{a}]"),
            inner.map(lambda e: f"lambda g: {e}"),
            inner.map(lambda e: f"[v for v in {e}]"),
            inner.map(lambda e: f"{{{e}: 1}}"),
            inner.map(lambda e: f"(q := {e})"),
            inner.map(lambda e: f"f'{{{e}}}'"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def statements() -> st.SearchStrategy[str]:
    expr = step_expressions()
    simple = st.one_of(
        st.tuples(st.sampled_from(NAMES), expr).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(st.sampled_from(NAMES), expr).map(lambda t: f"{t[0]}, w = {t[1]}"),
        st.tuples(st.sampled_from(NAMES), expr).map(lambda t: f"{t[0]} += {t[1]}"),
        expr,
        st.sampled_from(
            [
                "x.grad = None",
                "x.grad.zero_()",
                "x[0] = 1",
                "import os",
                "from os import system",
                "del x",
                "global x",
                "raise SystemExit",
                "assert x",
                "def f(): pass",
                "class C: pass",
                "for i in x: pass",
                "if x: pass",
                "while True: pass",
                "try:\n  pass\nexcept Exception:\n  pass",
                "y = ones(32000, 32000)",
                "y = zeros((100000, 100000))",
                "y = arange(0, 1e308, 1e-308)",
                "y = eye(100000)",
                "y = x.expand(100000, 100000)",
                "y = x.repeat(100000, 100000)",
                "y = tensor([[1, 2], [3]])",
                "h = x.register_hook(lambda g: __import__('os'))",
            ]
        ),
    )
    block = st.tuples(st.sampled_from(["no_grad()", "enable_grad()", "open('x')"]), simple).map(
        lambda t: f"with {t[0]}:\n    {t[1]}"
    )
    return st.one_of(simple, block)


def long_programs() -> st.SearchStrategy[str]:
    """Programs made long or deep: the ones that found quadratic time and stack overflows."""
    return st.one_of(
        st.integers(1, 1200).map(lambda n: "\n".join(f"y{i} = x * {i}" for i in range(n))),
        st.integers(1, 400).map(lambda n: "y = " + "exp(" * n + "x" + ")" * n),
        st.integers(1, 3000).map(lambda n: "y = x" + ".exp()" * n),
        st.integers(1, 60_000).map(lambda n: "y = " + "-" * n + "x"),
        st.integers(1, 25_000).map(lambda n: "y = " + " + ".join(["x"] * n)),
        st.integers(1, 120).map(
            lambda n: (
                "".join("    " * i + "with no_grad():\n" for i in range(n)) + "    " * n + "y = x"
            )
        ),
    )


def programs() -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(statements(), min_size=1, max_size=6).map("\n".join),
        long_programs(),
        st.text(max_size=200),
    )


VALID_STATEMENTS = [
    "z = exp(x) + w",
    "z = (x ** 2).sum()",
    "g = grad(y.sum(), x, create_graph=True)[0]",
    "z = x.T @ w",
    "with no_grad():\n  z = x * 3",
    "y.sum().backward()",
    "x.grad = None",
    "h = x.register_hook(lambda g: g * 2)",
    "z = ones(2, 3)",
    "z = x.expand(3, -1)",
    "z = x[0, :, None]",
    "z = einsum('i,i->', x, w)",
]
SMALL_VALUES = st.one_of(
    st.floats(-10, 10),
    st.lists(st.floats(-10, 10), min_size=2, max_size=2),
    st.just({"zeros": [2]}),
    st.just({"rule": {"shape": [2], "expr": "i + 1"}}),
    st.just({"random": {"shape": [2], "seed": 3}}),
)


@st.composite
def case_documents(draw: st.DrawFn) -> bytes:
    """A plausible case file, then one part of it made hostile (or none), dumped as YAML.

    The same value used twice is dumped as an anchor and aliases.
    """
    steps = ["y = x * 2", *draw(st.lists(st.sampled_from(VALID_STATEMENTS), max_size=4))]
    case: dict[str, Any] = {
        "id": "c",
        "description": "A case made by the fuzz of the loader.",
        "kind": "math",
        "inputs": {
            "x": {"value": draw(SMALL_VALUES), "requires_grad": True},
            "w": {"value": draw(SMALL_VALUES)},
        },
        "steps": "\n".join(steps),
        "expect": {"y": {"value": draw(SMALL_VALUES)}},
    }
    part = draw(st.sampled_from(["none", "id", "kind", "input", "steps", "expect", "extra"]))
    if part == "id":
        case["id"] = draw(st.sampled_from(["C!", "", "x" * 300, "\u202e"]))
    elif part == "kind":
        case["kind"] = draw(st.sampled_from(["convention", "magic", 3]))
    elif part == "input":
        case["inputs"]["x"]["value"] = draw(value_specs())
    elif part == "steps":
        case["steps"] = draw(programs())
    elif part == "expect":
        name = draw(st.sampled_from(["y", "x", "nope", "_y"]))
        case["expect"][name] = {
            draw(st.sampled_from(["value", "grad", "shape"])): draw(value_specs())
        }
    elif part == "extra":
        key = draw(st.sampled_from(["raises", "dtype", "tolerance", "capabilities", "bogus"]))
        case[key] = draw(st.one_of(st.just({"line": 1}), st.just("float64"), value_specs()))
    # Copies share their inputs and expectations: the dump writes them as aliases.
    copies = [{**case, "id": f"{case['id']}{i}"} for i in range(draw(st.integers(0, 2)))]
    document = {"schema_version": "1.0", "cases": [case, *copies]}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10**6).encode()


# The properties ----------------------------------------------------------------------------
def run_files(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    strategy: st.SearchStrategy[bytes],
    ci_examples: int,
) -> None:
    path = tmp_path_factory.mktemp(name) / "fuzz.yaml"
    tally = Tally(name)

    @fuzz(ci_examples)
    @given(strategy)
    def load(data: bytes) -> None:
        check_file(path, data, tally)

    load()
    tally.report()


def test_fuzz_bytes(tmp_path_factory: pytest.TempPathFactory) -> None:
    run_files(tmp_path_factory, "bytes", st.binary(max_size=3000), 30)


def test_fuzz_yaml_like_text(tmp_path_factory: pytest.TempPathFactory) -> None:
    run_files(tmp_path_factory, "yaml-like", yaml_like(), 40)


def test_fuzz_mutated_case_files(tmp_path_factory: pytest.TempPathFactory) -> None:
    run_files(tmp_path_factory, "mutated", mutated(), 50)


def test_fuzz_case_files_from_a_grammar(tmp_path_factory: pytest.TempPathFactory) -> None:
    run_files(tmp_path_factory, "grammar", case_documents(), 40)


def _depth(expr: ir.Expr | ir.Stmt) -> int:
    """Depth of compiled IR, without recursion (to check the compiler kept to the limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, (ir.Call, ir.TupleExpr, ir.ListExpr)):
            children = node.args if isinstance(node, ir.Call) else node.items
            stack += [(child, depth + 1) for child in children]
        elif isinstance(node, (ir.Assign, ir.Evaluate)):
            stack.append((node.value, depth + 1))
        elif isinstance(node, ir.GradMode):
            stack += [(child, depth + 1) for child in node.body]
        elif isinstance(node, ir.Lambda):
            stack.append((node.body, depth + 1))
    return deepest


def test_fuzz_step_language() -> None:
    tally = Tally("steps")

    @fuzz(60)
    @given(programs())
    def compile_one(source: str) -> None:
        with memory_cap(), nothing_executed() as executed:
            start = time.perf_counter()
            try:
                program: ir.Program | None = compile_steps(source, ["x", "w"])
            except StepSyntaxError as exc:
                assert exc.message
                program = None
            seconds = time.perf_counter() - start
        assert not executed, executed
        tally.add(program is not None, seconds)
        if program is not None:  # what compiles is within the limits
            assert len(program.statement_lines()) <= STEPS_STATEMENTS.value()
            deepest = max((_depth(statement) for statement in program.statements), default=0)
            assert deepest <= EXPRESSION_DEPTH.value() + 1

    compile_one()
    tally.report()


def test_fuzz_value_specs() -> None:
    tally = Tally("values")

    @fuzz(60)
    @given(value_specs(), st.sampled_from(["float64", "float32", "int64", "bool"]))
    # Found by the long run: negative sizes multiplying to a huge count, a shapeless eye.
    @example({"arange": {"shape": [14913096, -3, -3], "start": 0.0, "step": 0.0}}, "float64")
    @example({"zeros": [-100_000, -100_000]}, "float64")
    @example({"eye": []}, "float64")
    def build_one(spec: Any, dtype: str) -> None:
        with memory_cap(), nothing_executed() as executed:
            start = time.perf_counter()
            try:
                array: np.ndarray | None = build_array(spec, dtype)
            except (ValueSpecError, LimitExceeded):
                array = None
            seconds = time.perf_counter() - start
        assert not executed, executed
        tally.add(array is not None, seconds)
        if array is not None:
            assert array.size <= TENSOR_ELEMENTS.value()

    build_one()
    tally.report()
