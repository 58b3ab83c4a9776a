"""Limits on what a case file may ask for, checked before anything is built.

A case file from anyone is safe to load (nothing in it is executed), and these
limits make it cheap as well: a file cannot make the loader, the runner or the
oracle allocate gigabytes, recurse past Python's stack or spend minutes, and a
file that asks for too much is one located error while the other files run.
Each limit is far above what the bundled spec needs; one that a real case
outgrows is raised with an environment variable (never from the case file
itself, which could then lift its own limits), e.g.
``AUTOGRAD_SPEC_MAX_TENSOR_ELEMENTS=4000000``. ``docs/case-format.md`` lists them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]
ShapeOf = Callable[[Any], "Shape | None"]

ENV_PREFIX = "AUTOGRAD_SPEC_MAX_"


class LimitConfigError(ValueError):
    """An environment variable that sets a limit holds no usable number (a usage error)."""


@dataclass(frozen=True)
class Limit:
    """One limit: its name, default value and what it counts, where."""

    name: str
    default: int
    unit: str  # what is counted, in the plural: "elements"
    scope: str  # where: "in one tensor"

    @property
    def variable(self) -> str:
        """The environment variable that raises this limit."""
        return ENV_PREFIX + self.name.upper()

    def value(self) -> int:
        """The limit in force: the environment variable if set, else the default.

        Read at each check, so a test or a run can change it without restarting.
        A malformed value is an error of the whole run's configuration, not of
        a case file: LimitConfigError names the variable.
        """
        text = os.environ.get(self.variable)
        if text is None or not text.strip():
            return self.default
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            value = -1
        if value < 0:
            raise LimitConfigError(f"{self.variable}={text!r}: expected a whole number >= 0")
        return value

    def check(self, count: float, what: str) -> None:
        """Raise LimitExceeded when ``count`` is over the limit; ``what`` names the thing."""
        limit = self.value()
        if count > limit:
            raise LimitExceeded(self, count, limit, what)


class LimitExceeded(Exception):
    """Something a case asks for is over a limit; the message says which and how to raise it.

    At load it becomes the file's located CaseFileError; at run time it fails
    the case (it is never an engine's answer to an expected error: the engine
    was not asked).
    """

    def __init__(self, limit: Limit, count: float, value: int, what: str) -> None:
        self.limit = limit
        self.count = count
        self.value = value
        super().__init__(
            f"{what} would have {_amount(count)} {limit.unit}, over the limit of {value:,}"
            f" {limit.unit} {limit.scope} (set the environment variable {limit.variable}"
            " to raise it)"
        )


def _amount(count: float) -> str:
    """A count for a message: exact while readable, else its order of magnitude."""
    if isinstance(count, float) and not math.isfinite(count):
        return "unboundedly many"
    if count < 10**15:
        return f"{int(count):,}"
    return f"about 10^{math.floor(math.log10(count))}"


TENSOR_ELEMENTS = Limit("tensor_elements", 1_000_000, "elements", "in one tensor")
FILE_ELEMENTS = Limit("file_elements", 4_000_000, "elements", "in all the values of one file")
FILE_BYTES = Limit("file_bytes", 16_000_000, "bytes", "in one case file")
YAML_NODES = Limit("yaml_nodes", 2_000_000, "YAML nodes", "in one file, aliases expanded")
ALIAS_NODES = Limit(
    "alias_nodes", 50_000, "YAML nodes", "added to one file by expanding its aliases"
)
YAML_DEPTH = Limit("yaml_depth", 40, "levels of nesting", "in one file's YAML")
STEPS_CHARS = Limit("steps_chars", 100_000, "characters", "in one case's steps")
STEPS_STATEMENTS = Limit("steps_statements", 1_000, "statements", "in one case's steps")
EXPRESSION_DEPTH = Limit("expression_depth", 100, "levels of nesting", "in steps or a rule")
RULE_CHARS = Limit("rule_chars", 1_000, "characters", "in one rule expression")

#: Every limit, in the order docs/case-format.md lists them.
LIMITS: tuple[Limit, ...] = (
    TENSOR_ELEMENTS,
    FILE_ELEMENTS,
    FILE_BYTES,
    YAML_NODES,
    YAML_DEPTH,
    STEPS_CHARS,
    STEPS_STATEMENTS,
    EXPRESSION_DEPTH,
    RULE_CHARS,
)


# Counting elements ------------------------------------------------------------
def shape_elements(shape: Iterable[Any]) -> float:
    """Elements of a tensor of ``shape``; a size <= 0 gives 0 (the op itself rejects < 0)."""
    sizes = list(shape)
    if any(not size > 0 for size in sizes):  # not > 0: NaN too
        return 0
    count: float = math.prod(sizes)
    return count


def _flat_shape(shape: Any) -> tuple[Any, ...]:
    """A shape written ``ones(2, 3)``, ``ones((2, 3))`` or ``full(3, ...)``, as a tuple."""
    if isinstance(shape, (list, tuple)):
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            return tuple(shape[0])
        return tuple(shape)
    return (shape,)


def _numbers(values: Iterable[Any]) -> bool:
    return all(isinstance(value, (int, float)) for value in values)


def literal_elements(data: Any) -> int:
    """Scalars in a nested list (without recursion: a literal may be deep)."""
    count = 0
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            count += 1
    return count


def arange_elements(start: Any, end: Any, step: Any) -> float:
    """Length of ``arange(start, end, step)`` (``end`` None: ``arange(start)``); 0 if unknown."""
    if end is None:
        start, end = 0, start
    if not _numbers((start, end, step)) or step == 0:
        return 0  # not numbers, or a zero step: the op itself rejects it
    span = (end - start) / step
    if math.isnan(span):
        return 0
    return max(math.ceil(span), 0) if math.isfinite(span) else math.inf


def creation_elements(op: str, args: Sequence[Any]) -> float | None:
    """Elements a creation op of the steps would make, from its bound arguments.

    ``args`` are in signature order (docs/vocabulary.md): ``tensor(data, rg)``,
    ``ones(shape, rg)``, ``zeros(shape, rg)``, ``full(shape, fill_value, rg)``,
    ``arange(start, end, step, rg)``, ``eye(n, rg)``. None when ``op`` is not
    one of them or an argument is not a number (the op then fails on its own).
    """
    if op == "tensor" and args:
        return literal_elements(args[0])
    if op in ("ones", "zeros", "full") and args:
        shape = _flat_shape(args[0])
        return shape_elements(shape) if _numbers(shape) else None
    if op == "arange" and len(args) >= 3:
        return arange_elements(args[0], args[1], args[2])
    if op == "eye" and args and isinstance(args[0], (int, float)):
        return shape_elements((args[0], args[0]))
    return None


# The run-time check --------------------------------------------------------------
def shape_of(value: Any) -> Shape | None:
    """The shape of a tensor of any engine (its ``.shape``), () for a number, else None."""
    if isinstance(value, (bool, int, float)):
        return ()
    try:
        shape = value.shape
        return tuple(int(size) for size in shape)
    except (AttributeError, TypeError, ValueError):
        return None


def _elements(shape: Shape | None) -> float | None:
    return None if shape is None else shape_elements(shape)


def _broadcast(shapes: Iterable[Shape | None]) -> Shape | None:
    """The broadcast shape, or None when a shape is unknown or they do not broadcast."""
    result: list[int] = []
    for shape in shapes:
        if shape is None:
            return None
        padded = [1] * (len(shape) - len(result)) + result
        offset = len(padded) - len(shape)
        for axis, size in enumerate(shape):
            current = padded[offset + axis]
            if current == 1:
                padded[offset + axis] = size
            elif size not in (1, current):
                return None
        result = padded
    return tuple(result)


def _matmul(a: Shape | None, b: Shape | None) -> float | None:
    if a is None or b is None or not a or not b:
        return None
    batch = _broadcast((a[:-2], b[:-2]))
    if batch is None:
        return None
    rows = a[-2] if len(a) >= 2 else 1
    columns = b[-1] if len(b) >= 2 else 1
    return shape_elements((*batch, rows, columns))


def _expand(shape: Shape | None, sizes: Any) -> float | None:
    target = _flat_shape(sizes)
    if shape is None or not _numbers(target) or len(target) < len(shape):
        return None
    offset = len(target) - len(shape)
    resolved = [
        shape[axis - offset] if size == -1 and axis >= offset else size
        for axis, size in enumerate(target)
    ]
    return shape_elements(resolved)


def _repeat(shape: Shape | None, sizes: Any) -> float | None:
    reps = _flat_shape(sizes)
    if shape is None or not _numbers(reps) or len(reps) < len(shape):
        return None
    padded = (1,) * (len(reps) - len(shape)) + shape
    return shape_elements(size * rep for size, rep in zip(padded, reps, strict=True))


_EINSUM_TERM = re.compile(r"[A-Za-z]*")


def _einsum(equation: Any, shapes: Sequence[Shape | None]) -> float | None:
    """Elements of an einsum's result, from the sizes of its letters (no ``...``)."""
    if not isinstance(equation, str) or "." in equation or any(s is None for s in shapes):
        return None
    text = equation.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes) or not all(_EINSUM_TERM.fullmatch(t) for t in terms):
        return None
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes, strict=True):
        if shape is None or len(term) != len(shape):
            return None
        for letter, size in zip(term, shape, strict=True):
            sizes[letter] = max(sizes.get(letter, 1), size)
    # Implicit mode (no ->): the letters that appear once, in order.
    letters = output if arrow else "".join(sorted(c for c in sizes if inputs.count(c) == 1))
    if not all(letter in sizes for letter in letters):
        return None
    return shape_elements(sizes[letter] for letter in letters)


_BROADCASTING = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "maximum",
        "minimum",
        "atan2",
        "lt",
        "le",
        "gt",
        "ge",
        "eq",
        "ne",
        "where",
        "clamp",
        "masked_fill",
    }
)
_MATRIX = frozenset({"matmul", "mm", "bmm", "mv", "dot"})


def result_elements(op: str, args: Sequence[Any], shape_of: ShapeOf = shape_of) -> float | None:
    """Elements of the result of ``op(*args)``, for the ops whose result can outgrow their inputs.

    None when the op is not one of them, or a shape cannot be read: then the
    op's result is no larger than one of its inputs, or it fails on its own.
    """
    creation = creation_elements(op, args)
    if creation is not None:
        return creation
    if op in _BROADCASTING:
        present = [arg for arg in args if arg is not None]
        return _elements(_broadcast(shape_of(arg) for arg in present))
    if op in _MATRIX and len(args) >= 2:
        return _matmul(shape_of(args[0]), shape_of(args[1]))
    if op == "outer" and len(args) >= 2:
        first, second = _elements(shape_of(args[0])), _elements(shape_of(args[1]))
        return None if first is None or second is None else first * second
    if op == "expand" and len(args) >= 2:
        return _expand(shape_of(args[0]), args[1])
    if op == "repeat" and len(args) >= 2:
        return _repeat(shape_of(args[0]), args[1])
    if op in ("cat", "stack") and args and isinstance(args[0], (list, tuple)):
        counts = [_elements(shape_of(item)) for item in args[0]]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)
    if op == "diag" and len(args) >= 2:
        shape = shape_of(args[0])
        offset = args[1] if isinstance(args[1], int) else 0
        if shape is not None and len(shape) == 1:
            return shape_elements((shape[0] + abs(offset),) * 2)
        return None
    if op == "einsum" and len(args) >= 2 and isinstance(args[1], (list, tuple)):
        return _einsum(args[0], [shape_of(operand) for operand in args[1]])
    return None


def check_step_elements(op: str, args: Sequence[Any], shape_of: ShapeOf = shape_of) -> None:
    """Raise LimitExceeded before ``op(*args)`` would make a tensor over the element limit.

    Call it with the op's name and its evaluated arguments in signature order
    (as the backend or numpy receives them), before building the result:
    creation ops (``tensor ones zeros full arange eye``), ``expand`` and
    ``repeat``, and the ops whose result can be larger than any input
    (broadcasting arithmetic and comparisons, ``where``, ``clamp``,
    ``masked_fill``, the matrix products, ``outer``, ``einsum``, ``cat``,
    ``stack``, ``diag``). Other ops pass unchecked. ``shape_of`` reads a
    tensor's shape; the default reads ``.shape``, as torch, numpy and most
    engines have it.
    """
    count = result_elements(op, args, shape_of)
    if count is not None:
        TENSOR_ELEMENTS.check(count, f"{op}()")


__all__ = [
    "EXPRESSION_DEPTH",
    "FILE_BYTES",
    "FILE_ELEMENTS",
    "LIMITS",
    "RULE_CHARS",
    "STEPS_CHARS",
    "STEPS_STATEMENTS",
    "TENSOR_ELEMENTS",
    "YAML_DEPTH",
    "YAML_NODES",
    "Limit",
    "LimitConfigError",
    "LimitExceeded",
    "check_step_elements",
    "creation_elements",
    "literal_elements",
    "result_elements",
    "shape_elements",
    "shape_of",
]
