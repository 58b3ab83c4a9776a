"""Tell an engine's answer from a fault of the adapter that wraps it.

An expected-error case passes only when the *engine* rejects the misuse. An
exception that comes from the adapter's own code (a typo, a wrong call, a
stray ``raise``) is not that answer however well it is placed: counted as
one, an adapter bug would pass every "must raise" case it happens to hit. So
every exception a step raises is classified before it is judged, by these
rules, in order (docs/writing-an-adapter.md explains them to adapter authors):

1. Not an ``Exception`` (``SystemExit``, ``GeneratorExit``, a custom
   ``BaseException``): an adapter fault. (``KeyboardInterrupt`` never gets
   here: it stops the run.)
2. :class:`~conformance.errors.EmulatedError`: the engine's answer, raised by
   the adapter on its behalf on purpose; reports say so.
3. Raised by a ``raise`` statement in the adapter's own modules (those that
   define its class and base classes) or in this package: an adapter fault.
   An error raised inside the engine, or by a C function the adapter called,
   is not caught by this rule.
4. A ``TypeError`` from calling a function with the wrong arguments: an
   adapter fault. A programming error (``AttributeError``, ``NameError``,
   ``ImportError``): an adapter fault, unless the adapter lists that class in
   ``engine_errors``.
5. When the adapter declares ``engine_errors``, anything else that is not an
   instance of one of them: an adapter fault.
6. Otherwise the engine's answer.
"""

from __future__ import annotations

import dis
import inspect
import re
import sys
import traceback
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import CodeType, TracebackType

from conformance.backend import Backend
from conformance.errors import EmulatedError

#: Python's own programming errors: an engine rejecting a misuse does not raise these.
PROGRAMMING_ERRORS: tuple[type[Exception], ...] = (AttributeError, NameError, ImportError)

# CPython's messages for a call that does not fit the callee's signature.
_BINDING = re.compile(
    r"takes (no|exactly \w+|at (most|least) \d+|from \d+ to \d+|\d+) (positional |keyword )?"
    r"arguments?|missing \d+ required (positional|keyword-only) arguments?"
    r"|got an unexpected keyword argument|got multiple values for (keyword )?argument"
    r"|takes no keyword arguments|positional-only arguments? passed as keyword"
)

_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class AdapterFault:
    """Why an exception is the adapter's, not the engine's, with where it came from."""

    reason: str
    origin: str  # "file:line in function" of the frame that raised, or ""
    traceback: str  # the formatted traceback, innermost frames last

    def describe(self, error: BaseException) -> str:
        where = f" at {self.origin}" if self.origin else ""
        return f"adapter error{where}: {type(error).__name__}: {error} ({self.reason})"


@cache
def _adapter_files(backend_class: type[Backend]) -> frozenset[Path]:
    files = set()
    for cls in backend_class.__mro__:
        if cls in (Backend, object) or cls.__module__ == "abc":
            continue
        try:
            source = inspect.getsourcefile(cls)
        except TypeError:  # a class made at run time has no file
            continue
        if source is not None:
            files.add(Path(source).resolve())
    return frozenset(files)


def _innermost(tb: TracebackType | None) -> TracebackType | None:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def _is_raise_statement(code: CodeType, lasti: int) -> bool:
    """Whether the instruction at ``lasti`` is a ``raise``, not a call that failed inside."""
    offset = lasti if sys.version_info >= (3, 11) else lasti * 2
    for instruction in dis.get_instructions(code):
        if instruction.offset == offset:
            return instruction.opname == "RAISE_VARARGS"
    return False


def _is_own(path: Path, own: frozenset[Path]) -> bool:
    return path in own or path.is_relative_to(_PACKAGE)


def classify(error: BaseException, backend: Backend) -> AdapterFault | None:
    """None when ``error`` is the engine's answer; otherwise why it is the adapter's."""
    innermost = _innermost(error.__traceback__)
    origin = ""
    raised_by_own_code = False
    if innermost is not None:
        code = innermost.tb_frame.f_code
        path = Path(code.co_filename).resolve()
        origin = f"{path.name}:{innermost.tb_lineno} in {code.co_name}"
        raised_by_own_code = _is_raise_statement(code, innermost.tb_lasti) and _is_own(
            path, _adapter_files(type(backend))
        )
    text = _adapter_traceback(error, _adapter_files(type(backend)))

    def fault(reason: str) -> AdapterFault:
        return AdapterFault(reason, origin, text)

    if not isinstance(error, Exception):
        return fault("a BaseException that is not an Exception")
    if isinstance(error, EmulatedError):
        return None
    if raised_by_own_code:
        return fault(
            "raised by the adapter's own code, not by the engine;"
            " an adapter that answers for its engine raises EmulatedError"
        )
    declared = tuple(backend.engine_errors)
    if isinstance(error, PROGRAMMING_ERRORS) and not _declared_exactly(error, declared):
        return fault("a programming error, not an engine's answer")
    if isinstance(error, TypeError) and _BINDING.search(str(error)) is not None:
        # Never the engine's answer, declared or not: the runner calls every
        # method with its contract's arguments, so the adapter called something wrongly.
        return fault("a call with the wrong arguments")
    if declared and not isinstance(error, declared):
        names = ", ".join(cls.__name__ for cls in declared)
        return fault(f"not one of the engine's errors the adapter declares ({names})")
    return None


def _adapter_traceback(error: BaseException, own: frozenset[Path]) -> str:
    """The traceback from the first frame outside the harness: where the adapter took over."""
    frames = traceback.extract_tb(error.__traceback__)
    start = 0
    for index, frame in enumerate(frames):
        path = Path(frame.filename).resolve()
        if path in own or not path.is_relative_to(_PACKAGE):
            start = index
            break
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames[start:])
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines)


def _declared_exactly(error: BaseException, declared: tuple[type[BaseException], ...]) -> bool:
    """Listed by name in engine_errors (a broad base class such as Exception does not count)."""
    broad = (Exception, BaseException, object)
    return any(cls in declared for cls in type(error).__mro__ if cls not in broad)
