"""The step language: restricted Python, parsed with ``ast`` into a small IR.

Nothing here ever calls ``eval`` or ``exec``; a case file from anyone is safe
to load.
"""

from conformance.language.parser import StepSyntaxError, compile_steps

__all__ = ["StepSyntaxError", "compile_steps"]
