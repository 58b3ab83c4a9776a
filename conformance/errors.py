"""Errors that carry a location, so every message can point at a YAML line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in a case file; line and column are 1-based, 0 when unknown."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.path}:{self.line}:{self.column}"
        if self.line:
            return f"{self.path}:{self.line}"
        return self.path


class CaseFileError(Exception):
    """A case file that cannot be loaded: bad YAML, schema or step language.

    The message always starts with ``file:line`` and names the case id and
    the key where they are known, so an author can jump to the fault.
    """

    def __init__(self, location: Location, message: str, case_id: str | None = None) -> None:
        self.location = location
        self.case_id = case_id
        self.detail = message
        where = f"{location}: "
        who = f"case {case_id!r}: " if case_id else ""
        super().__init__(f"{where}{who}{message}")


class NotSupportedError(Exception):
    """Raised by an adapter for an operation or feature its engine lacks.

    The runner turns it into a skip that names what is missing; it is never
    counted as a pass and never as a failure.
    """


class BackendConfigError(Exception):
    """A backend that cannot be found or constructed (a usage error)."""


class EmulatedError(RuntimeError):
    """An error an adapter raises on its engine's behalf, on purpose.

    Some rules have no call in an engine's API that would raise them: a
    ``grad()`` an adapter builds on the engine's ``backward()`` must itself
    reject an input that does not require grad. Raised as this class, such an
    error answers an expected error, and reports say the adapter raised it.
    Any other exception raised by the adapter's own code is an adapter error.
    """


class CaseTimeout(BaseException):
    """A case ran past the run's per-case timeout.

    A BaseException, so that an adapter's ``except Exception`` cannot swallow it.
    """
