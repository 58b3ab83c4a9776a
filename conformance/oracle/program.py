"""A program as the oracle walks it: a flat list of statements, each with its grad mode.

Grad-mode blocks are flattened so that "re-run the program up to statement k"
is a slice; each statement keeps whether gradients are recorded while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.language import ir
from conformance.language.vocabulary import GRAD_MODES


@dataclass(frozen=True)
class FlatStatement:
    statement: ir.Assign | ir.Evaluate
    recording: bool  # False inside no_grad() and the like


def _enabled(block: ir.GradMode, outer: bool) -> bool:
    spec = GRAD_MODES.get(block.mode)
    enabled = getattr(spec, "enabled", None)
    if enabled is None and isinstance(block.enabled, ir.Const):
        enabled = block.enabled.value
    return outer if enabled is None else bool(enabled)


def flatten(statements: tuple[ir.Stmt, ...], recording: bool = True) -> list[FlatStatement]:
    flat: list[FlatStatement] = []
    for statement in statements:
        if isinstance(statement, ir.GradMode):
            flat.extend(flatten(statement.body, _enabled(statement, recording)))
        else:
            flat.append(FlatStatement(statement, recording))
    return flat


def stop_index(flat: list[FlatStatement], line: int | None) -> int:
    """How many statements run before the one at ``line`` (all of them for None)."""
    if line is None:
        return len(flat)
    for index, item in enumerate(flat):
        if item.statement.line >= line:
            return index
    return len(flat)
