"""The intermediate representation a case's steps compile to.

It is plain data: the runner walks it against a backend, the oracle walks it
on numpy, and a functional engine could stage it. Lines are 1-based within the
``steps`` text.
"""

from __future__ import annotations

from dataclasses import dataclass

# A str is only ever an argument of a call (einsum's equation).
ScalarConst = int | float | bool | str | None


@dataclass(frozen=True)
class Const:
    value: ScalarConst | type(Ellipsis)  # type: ignore[valid-type]


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class SliceExpr:
    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass(frozen=True)
class TupleExpr:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Call:
    """An operation of the vocabulary with its arguments bound in signature order."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Lambda:
    """A one-parameter, one-expression function: only the argument of register_hook.

    ``param`` is a name inside ``body`` alone; evaluating a Lambda gives a
    callable that evaluates ``body`` with the parameter bound.
    """

    param: str
    body: Expr


Expr = Const | Name | SliceExpr | TupleExpr | ListExpr | Call | Lambda


@dataclass(frozen=True)
class Assign:
    targets: tuple[str, ...]
    unpack: bool
    value: Expr
    line: int
    source: str


@dataclass(frozen=True)
class Evaluate:
    """An expression statement such as ``y.backward()``."""

    value: Expr
    line: int
    source: str


@dataclass(frozen=True)
class GradMode:
    """A ``with MODE(...):`` block; MODE is a key of vocabulary.GRAD_MODES.

    ``enabled`` is the constant argument of ``set_grad_enabled`` (a Const of a
    bool) and None for the modes that take none.
    """

    mode: str
    enabled: Expr | None
    body: tuple[Stmt, ...]
    line: int
    source: str


Stmt = Assign | Evaluate | GradMode


@dataclass(frozen=True)
class Program:
    statements: tuple[Stmt, ...]
    inputs: tuple[str, ...]
    assigned: tuple[str, ...]
    ops: frozenset[str]

    def statement_lines(self) -> frozenset[int]:
        """Lines on which a statement starts, where an expected error may be placed."""
        lines: set[int] = set()

        def visit(statements: tuple[Stmt, ...]) -> None:
            for statement in statements:
                lines.add(statement.line)
                if isinstance(statement, GradMode):
                    visit(statement.body)

        visit(self.statements)
        return frozenset(lines)
