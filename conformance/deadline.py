"""A per-case time limit that holds for a hang in Python and in native code alike.

Two layers, because no single mechanism covers both:

- An alarm (``signal.setitimer``) raises :class:`~conformance.errors.CaseTimeout`
  in the main thread when the limit passes. It ends a hang in Python code, and
  in native code that returns to the interpreter or is interrupted by the
  signal (a sleep, a blocking call, most engine kernels): the case is
  recorded as timed out and the run goes on.
- A backstop (:func:`faulthandler.dump_traceback_later`) for native code that
  never returns to the interpreter while holding its lock. Its watchdog is a
  C thread, so it fires where no Python thread (pytest-timeout's thread
  method, a ``threading.Timer``) can run: after a grace period it writes every
  thread's traceback to a file and ends the process. What ran before is
  already on disk (the plugin writes each finished case as it finishes);
  under pytest-xdist the worker is replaced and the run goes on.

The alarm needs the main thread of a platform with ``SIGALRM``; elsewhere only
the backstop applies.
"""

from __future__ import annotations

import faulthandler
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import IO, Any

from conformance.errors import CaseTimeout


def grace(seconds: float) -> float:
    """How long after the alarm the backstop waits before ending the process."""
    return max(5.0, seconds)


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def alarm(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout in this thread once ``seconds`` have passed; nothing when None."""
    if seconds is None or seconds <= 0 or not _can_alarm():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"the case ran past the timeout of {seconds:g} s")

    previous: Any = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def backstop(seconds: float | None, dump: IO[str] | None) -> Iterator[None]:
    """End the process, tracebacks written to ``dump``, if the alarm cannot stop a hang."""
    if seconds is None or seconds <= 0:
        yield
        return
    if dump is None:
        faulthandler.dump_traceback_later(seconds + grace(seconds), exit=True)
    else:
        faulthandler.dump_traceback_later(seconds + grace(seconds), exit=True, file=dump)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
