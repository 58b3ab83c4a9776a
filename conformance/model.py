"""The typed form of a case, as the loader builds it from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.errors import Location
from conformance.language.ir import Program

KINDS = ("math", "convention", "semantics", "torch-detail")


class _ExpectNone:
    """Marks an expectation that a variable (or a .grad) is None."""

    def __repr__(self) -> str:
        return "None"

    def __reduce__(self) -> str:
        return "EXPECT_NONE"  # the one instance, also after a copy or a pickle


EXPECT_NONE = _ExpectNone()


@dataclass(frozen=True)
class Tolerance:
    rtol: float | None = None
    atol: float | None = None


@dataclass(frozen=True)
class InputSpec:
    name: str
    value: Any  # a value spec (literal or constructor), see conformance.arrays
    requires_grad: bool
    dtype: str | None  # None: the run's floating dtype
    line: int


@dataclass(frozen=True)
class Expectation:
    """What one variable must look like after the steps ran."""

    variable: str
    line: int
    value: Any = None  # a value spec, EXPECT_NONE, or None when unchecked
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    grad_fn: bool | None = None
    grad_fn_name: str | _ExpectNone | None = None
    requires_grad: bool | None = None
    is_leaf: bool | None = None
    grad: Any = None  # a value spec, EXPECT_NONE, or None when unchecked
    tolerance: Tolerance = field(default_factory=Tolerance)
    key_lines: dict[str, int] = field(default_factory=dict)

    def checked_keys(self) -> tuple[str, ...]:
        keys = (
            "value",
            "shape",
            "dtype",
            "grad_fn",
            "grad_fn_name",
            "requires_grad",
            "is_leaf",
            "grad",
        )
        return tuple(key for key in keys if getattr(self, key) is not None)


@dataclass(frozen=True)
class ExpectedError:
    line: int  # within steps
    misuse: str  # from conformance.misuses.MISUSES
    type: str | None
    match: str | None
    yaml_line: int


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    kind: str
    topic: str
    path: str  # as displayed: relative to the spec root where possible
    line: int  # of the case's id
    steps: str
    steps_line: int  # YAML line of the first line of steps
    steps_column: int  # YAML column where step text starts
    program: Program
    inputs: tuple[InputSpec, ...]
    expect: tuple[Expectation, ...]
    raises: ExpectedError | None
    capabilities: frozenset[str]
    dtype: str | None  # pinned floating dtype, or None to follow the run
    tolerance: Tolerance
    source: str | None = None
    convention: dict[str, str] = field(default_factory=dict)
    catalog: tuple[str, ...] = ()
    oracle_note: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.path, self.line)

    @property
    def checked_capabilities(self) -> frozenset[str]:
        """Capabilities its expectations read; without one, that check goes unchecked."""
        from conformance.capabilities import CHECK_CAPABILITIES

        return frozenset(
            CHECK_CAPABILITIES[key]
            for expectation in self.expect
            for key in expectation.checked_keys()
            if key in CHECK_CAPABILITIES
        )

    def step_location(self, step_line: int) -> Location:
        """The YAML location of a line of the steps."""
        return Location(self.path, self.steps_line + step_line - 1, self.steps_column)

    def step_source(self, step_line: int) -> str:
        lines = self.steps.splitlines()
        return lines[step_line - 1].strip() if 0 < step_line <= len(lines) else ""


@dataclass(frozen=True)
class CaseFile:
    path: str
    topic: str
    cases: tuple[Case, ...]
